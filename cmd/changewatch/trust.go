package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/access"
	"github.com/changewatch/changewatch/raster"
)

// accessFlags say where a worker may read scenes from (access.Policy).
type accessFlags struct {
	allow, catalogs string
}

func (a *accessFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.allow, "allow-read", env(strings.Join(access.DefaultAllow, ","), "CHANGEWATCH_ALLOW_READ"),
		"comma-separated locations asset hrefs may point to besides the catalog's own folder, bucket prefix or host: folders, s3://bucket/[prefix/], s3:// (every bucket of the configured S3 endpoint), https://host[:port]/[path/] (env CHANGEWATCH_ALLOW_READ)")
	fs.StringVar(&a.catalogs, "allow-catalogs", env("", "CHANGEWATCH_ALLOW_CATALOGS"),
		"comma-separated locations a request's catalog must be under (same forms as --allow-read); empty: any catalog (env CHANGEWATCH_ALLOW_CATALOGS)")
}

// policy parses the flags; every entry must be a plain location.
func (a *accessFlags) policy() (*access.Policy, error) {
	split := func(name, s string) ([]string, error) {
		var out []string
		for _, e := range strings.Split(s, ",") {
			if e = strings.TrimSpace(e); e == "" {
				continue
			}
			if e != "s3://" {
				if _, err := access.Parse(e); err != nil {
					return nil, usagef("--%s: %v", name, err)
				}
			}
			out = append(out, e)
		}
		return out, nil
	}
	allow, err := split("allow-read", a.allow)
	if err != nil {
		return nil, err
	}
	cats, err := split("allow-catalogs", a.catalogs)
	if err != nil {
		return nil, err
	}
	return &access.Policy{Allow: allow, Catalogs: cats}, nil
}

// redactURL hides the password of a URL (redis://user:xxxxx@host/0); a string that does
// not parse as a URL is hidden whole when it holds an '@'.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			return "(unparsable URL with credentials)"
		}
		return s
	}
	return u.Redacted()
}

// secretURL is a flag value whose default and value are printed redacted (-h, errors).
type secretURL struct{ v *string }

func (s secretURL) String() string {
	if s.v == nil {
		return ""
	}
	return redactURL(*s.v)
}

func (s secretURL) Set(v string) error { *s.v = v; return nil }

// redisLogger routes go-redis's internal log lines (reconnects, pool errors) to slog, so
// a service's stderr stays one JSON object a line.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

func routeRedisLogs(l *slog.Logger) { redis.SetLogger(redisLogger{l}) }

// startEgress starts the proxy that GDAL's network reads go through (access.Egress) with
// the policy's hosts and the S3 endpoint allowed, and points GDAL at it; stop undoes both.
func startEgress(pol *access.Policy, s3 *s3Flags, log *slog.Logger) (eg *access.Egress, stop func(), err error) {
	eg, err = access.NewEgress(pol.Allow, s3.endpoint, log.With("component", "egress"))
	if err != nil {
		return nil, nil, err
	}
	raster.SetHTTPProxy(eg.Addr())
	return eg, func() {
		raster.SetHTTPProxy("")
		eg.Close()
	}, nil
}
