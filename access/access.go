// Package access decides where changewatch may read from. Asset hrefs come from catalogs
// and task payloads changewatch does not control; where they may point is configuration:
// a Policy lists the allowed locations, and every href is parsed into a Location (local
// file, S3 object or HTTP(S) URL) and checked against it before GDAL sees it.
//
// An href is refused (an error matching ErrRefused, naming the href) when it is not a
// plain location: GDAL virtual file systems (/vsicurl/, /vsizip/, /vsisubfile/, ...),
// driver prefixes (GTIFF_DIR:, NETCDF:, vrt://), inline datasets (<VRTDataset>, JSON),
// fragments ('#': "#.tif" passes GDAL's extension check), "." or ".." path elements
// (also percent-encoded), backslashes, control or non-ASCII characters, credentials in
// URLs, or a path that is not a .tif/.tiff file; and when it is a plain location outside
// the catalog's own folder, bucket prefix or host and outside every location of the
// policy.
package access

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"unicode"
)

// ErrRefused is matched by every refusal: retrying cannot help.
var ErrRefused = errors.New("location not allowed")

// RefusedError names the refused href and why.
type RefusedError struct {
	Href    string
	Problem string
}

func (e *RefusedError) Error() string {
	h := e.Href
	if len(h) > 200 {
		h = h[:200] + "..."
	}
	return fmt.Sprintf("href %q refused: %s", h, e.Problem)
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

func refuse(href, format string, args ...any) error {
	return &RefusedError{Href: href, Problem: fmt.Sprintf(format, args...)}
}

// Kind is the kind of a Location.
type Kind int

// Kinds of locations.
const (
	Local Kind = iota // a file or folder on the worker's file system
	S3                // an object of the configured S3 endpoint
	HTTP              // an http:// or https:// URL
)

// Location is a parsed href or catalog root.
type Location struct {
	Kind   Kind
	Path   string // Local: the cleaned absolute path
	Bucket string // S3
	Key    string // S3: the object key (or key prefix); HTTP: the URL path without the leading '/'
	Scheme string // HTTP: "http" or "https"
	Host   string // HTTP: host[:port], lower case
	URL    string // HTTP: the URL as GDAL fetches it
}

// String returns the location as an href: a path, s3://bucket/key or the URL.
func (l Location) String() string {
	switch l.Kind {
	case S3:
		return "s3://" + l.Bucket + "/" + l.Key
	case HTTP:
		return l.URL
	}
	return l.Path
}

// Parse parses href (a local path, s3://bucket/key, or an http(s) URL; AWS S3 object URLs
// of the forms https://BUCKET.s3[.REGION].amazonaws.com/KEY and
// https://s3[.REGION].amazonaws.com/BUCKET/KEY are S3 locations) and refuses anything
// that is not a plain location (see the package comment). Relative local paths are made
// absolute against the working directory.
func Parse(href string) (Location, error) {
	if href == "" {
		return Location{}, refuse(href, "empty")
	}
	if len(href) > 2048 {
		return Location{}, refuse(href, "longer than 2048 bytes")
	}
	for _, r := range href {
		switch {
		case r > unicode.MaxASCII:
			return Location{}, refuse(href, "non-ASCII character %q", r)
		case r < 0x20 || r == 0x7f:
			return Location{}, refuse(href, "control character")
		case strings.ContainsRune(`\<>{}"#|^`+"`", r):
			return Location{}, refuse(href, "character %q (inline datasets, fragments and backslashes are not accepted)", r)
		}
	}
	if strings.HasPrefix(href, "/vsi") {
		return Location{}, refuse(href, "GDAL virtual file systems are not accepted")
	}
	lower := strings.ToLower(href)
	switch {
	case strings.HasPrefix(href, "s3://"):
		bucket, key, _ := strings.Cut(strings.TrimPrefix(href, "s3://"), "/")
		if err := checkElems(href, key); err != nil {
			return Location{}, err
		}
		if !validBucket(bucket) {
			return Location{}, refuse(href, "bucket %q is not a valid bucket name", bucket)
		}
		return Location{Kind: S3, Bucket: bucket, Key: key}, nil
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		return parseURL(href)
	}
	if i := strings.IndexAny(href, ":"); i >= 0 {
		// "GTIFF_DIR:1:x.tif", "NETCDF:x.nc:var", "vrt://x", "file://", "C:\": GDAL
		// opens these specially or they are not paths of this system.
		return Location{}, refuse(href, "scheme or driver prefix %q is not accepted (want a path, s3:// or http(s)://)", href[:i+1])
	}
	if err := checkElems(href, filepath.ToSlash(href)); err != nil {
		return Location{}, err
	}
	abs, err := filepath.Abs(href)
	if err != nil {
		return Location{}, refuse(href, "%v", err)
	}
	return Location{Kind: Local, Path: abs}, nil
}

func parseURL(href string) (Location, error) {
	u, err := url.Parse(href)
	if err != nil {
		return Location{}, refuse(href, "%v", err)
	}
	if u.User != nil {
		return Location{}, refuse(href, "credentials in the URL are not accepted")
	}
	if u.Host == "" || u.Opaque != "" {
		return Location{}, refuse(href, "no host")
	}
	raw := u.EscapedPath()
	lp := strings.ToLower(raw)
	if strings.Contains(lp, "%2e") || strings.Contains(lp, "%2f") || strings.Contains(lp, "%5c") || strings.Contains(lp, "%00") {
		return Location{}, refuse(href, "percent-encoded '.', '/', '\\' or NUL in the path")
	}
	if err := checkElems(href, strings.TrimPrefix(u.Path, "/")); err != nil {
		return Location{}, err
	}
	host := strings.ToLower(u.Host)
	if bucket, key, ok := awsObjectURL(host, strings.TrimPrefix(u.Path, "/")); ok && u.Scheme == "https" && u.RawQuery == "" {
		if !validBucket(bucket) {
			return Location{}, refuse(href, "bucket %q is not a valid bucket name", bucket)
		}
		return Location{Kind: S3, Bucket: bucket, Key: key}, nil
	}
	u.Host = host
	u.Scheme = strings.ToLower(u.Scheme)
	return Location{Kind: HTTP, Scheme: u.Scheme, Host: host, Key: strings.TrimPrefix(u.Path, "/"), URL: u.String()}, nil
}

// checkElems refuses "." and ".." elements and empty elements inside p.
func checkElems(href, p string) error {
	elems := strings.Split(strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/"), "/")
	for i, e := range elems {
		switch {
		case e == "." || e == "..":
			return refuse(href, "path element %q", e)
		case e == "" && len(elems) > 1 && i > 0:
			return refuse(href, "empty path element (//)")
		}
	}
	return nil
}

func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || strings.Contains(b, "..") {
		return false
	}
	for i, r := range b {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (r == '.' || r == '-') && i > 0 && i < len(b)-1
		if !ok {
			return false
		}
	}
	return true
}

// awsObjectURL recognises the URL forms of AWS S3 objects: virtual-hosted
// BUCKET.s3[.REGION].amazonaws.com/KEY and path-style s3[.REGION].amazonaws.com/BUCKET/KEY.
func awsObjectURL(host, p string) (bucket, key string, ok bool) {
	host, _, _ = strings.Cut(host, ":")
	if !strings.HasSuffix(host, ".amazonaws.com") || p == "" {
		return "", "", false
	}
	labels := strings.Split(strings.TrimSuffix(host, ".amazonaws.com"), ".")
	for i, l := range labels {
		if l != "s3" && !strings.HasPrefix(l, "s3-") {
			continue
		}
		if i == 0 {
			b, k, ok := strings.Cut(p, "/")
			return b, k, ok && b != "" && k != ""
		}
		return strings.Join(labels[:i], "."), p, true
	}
	return "", "", false
}

// Policy says where assets may be read from: under the catalog's own location (its
// folder, its bucket prefix, its host), or under one of Allow.
type Policy struct {
	// Allow lists further locations: a folder ("/data/scenes"), "s3://bucket/" or
	// "s3://bucket/prefix/", "s3://" for every bucket of the configured S3 endpoint
	// (the S3 endpoint is configuration, so its buckets are where the deployment put
	// its data), or "https://host[:port]/" with an optional path prefix.
	Allow []string
	// Catalogs, when not empty, lists the only locations a request's catalog may be
	// under (same forms as Allow). Empty: any catalog.
	Catalogs []string
}

// DefaultAllow is the Allow of a deployment that configures nothing: every bucket of the
// configured S3 endpoint (Earth Search's https object URLs of sentinel-cogs are read
// through it).
var DefaultAllow = []string{"s3://"}

// CheckCatalog checks a request's catalog root against p.Catalogs.
func (p *Policy) CheckCatalog(catalog string) error {
	if len(p.Catalogs) == 0 {
		_, err := parseRoot(catalog)
		return err
	}
	loc, err := parseRoot(catalog)
	if err != nil {
		return err
	}
	for _, a := range p.Catalogs {
		if under(loc, a) {
			return nil
		}
	}
	return refuse(catalog, "the catalog is not under any of the allowed catalog locations (%s)", strings.Join(p.Catalogs, ", "))
}

// parseRoot parses a catalog root or an allow-list entry (no extension required).
func parseRoot(root string) (Location, error) {
	if root == "s3://" {
		return Location{Kind: S3}, nil
	}
	return Parse(root)
}

// Check parses href and checks that it may be read for a request whose catalog is
// catalog. It returns the parsed location.
func (p *Policy) Check(href, catalog string) (Location, error) {
	loc, err := Parse(href)
	if err != nil {
		return Location{}, err
	}
	var name string
	switch loc.Kind {
	case Local:
		name = loc.Path
	case S3:
		name = loc.Key
	case HTTP:
		name = loc.Key
	}
	if ext := strings.ToLower(path.Ext(name)); ext != ".tif" && ext != ".tiff" {
		return Location{}, refuse(href, "not a .tif or .tiff file")
	}
	if catalog != "" && under(loc, catalog) {
		return loc, nil
	}
	for _, a := range p.Allow {
		if under(loc, a) {
			return loc, nil
		}
	}
	allowed := append([]string{"the catalog " + catalog}, p.Allow...)
	return Location{}, refuse(href, "outside the allowed locations (%s)", strings.Join(allowed, ", "))
}

// under reports whether loc is under the location root (a catalog root or an Allow
// entry): for a folder or a bucket prefix, below it; for a URL, on the same scheme and
// host, below its path.
func under(loc Location, root string) bool {
	r, err := parseRoot(root)
	if err != nil || r.Kind != loc.Kind {
		return false
	}
	switch loc.Kind {
	case Local:
		// A catalog named by one of its item files allows that file's folder.
		dir := r.Path
		if strings.HasSuffix(strings.ToLower(dir), ".json") {
			dir = filepath.Dir(dir)
		}
		return loc.Path == dir || strings.HasPrefix(loc.Path, strings.TrimSuffix(dir, "/")+"/")
	case S3:
		if r.Bucket == "" {
			return true // "s3://": every bucket of the configured endpoint
		}
		return loc.Bucket == r.Bucket && keyUnder(loc.Key, r.Key)
	case HTTP:
		if loc.Scheme != r.Scheme || loc.Host != r.Host {
			return false
		}
		// An API root (https://host/v1) allows the whole host: STAC APIs serve their
		// assets from other paths of the same host.
		if strings.HasSuffix(root, "/") {
			return keyUnder(loc.Key, r.Key)
		}
		return true
	}
	return false
}

func keyUnder(key, prefix string) bool {
	prefix = strings.Trim(prefix, "/")
	if strings.HasSuffix(strings.ToLower(prefix), ".json") {
		prefix = path.Dir(prefix)
		if prefix == "." {
			prefix = ""
		}
	}
	return prefix == "" || key == prefix || strings.HasPrefix(key, prefix+"/")
}
