// Package s3store is changewatch's adapter for S3 and S3-compatible object stores
// (versitygw, MinIO, gofakes3, ...), built on aws-sdk-go-v2.
//
// Client talks to a real server; Memory is an in-memory twin with the same methods
// for unit tests of the packages above. Packages that need storage should declare
// the two or three methods they use as their own interface and accept either.
//
// Errors keep the SDK error wrapped (%w), so callers can use errors.As on smithy and
// aws-sdk types. Missing objects match ErrNotFound and missing buckets match
// ErrBucketNotFound through errors.Is; IsTransient tells retryable trouble from
// permanent failures.
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ErrNotFound matches (errors.Is) the error returned for an object that does not exist.
var ErrNotFound = fmt.Errorf("object not found: %w", fs.ErrNotExist)

// ErrBucketNotFound matches (errors.Is) the error returned when the bucket itself does
// not exist. It is deliberately distinct from ErrNotFound: a missing bucket is a
// configuration problem, not a missing object.
var ErrBucketNotFound = errors.New("bucket not found")

// defaultRegion is used when neither Config.Region nor the environment names one.
// Self-hosted servers accept any region; AWS redirects signing errors otherwise.
const defaultRegion = "us-east-1"

// Config says how to reach an object store. The zero value means AWS with the default
// credential chain (environment, shared config, IMDS, ...).
type Config struct {
	// Endpoint is the URL of an S3-compatible server, e.g. "http://127.0.0.1:7070".
	// A bare "host:port" means https. Empty means AWS.
	Endpoint string
	// Region is the signing region. Empty: from the environment, else "us-east-1".
	Region string
	// PathStyle addresses buckets as http://host/bucket/key instead of
	// http://bucket.host/key; self-hosted servers usually need it.
	PathStyle bool
	// Anonymous sends unsigned requests (public buckets such as sentinel-cogs).
	Anonymous bool
	// AccessKey and SecretKey are static credentials; when empty (and not
	// Anonymous) the SDK's default credential chain is used.
	AccessKey, SecretKey string
	// MaxAttempts bounds the SDK's attempts per request, retries included.
	// Zero keeps the SDK default (3).
	MaxAttempts int
}

// Client is an S3 client bound to one endpoint and one set of credentials. It is safe
// for concurrent use. Build it with New.
type Client struct {
	s3 *s3.Client
}

// New builds a Client from cfg. It does not contact the server.
func New(ctx context.Context, cfg Config) (*Client, error) {
	endpoint, err := normalizeEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	if cfg.Anonymous && (cfg.AccessKey != "" || cfg.SecretKey != "") {
		return nil, errors.New("s3store: both anonymous access and static keys configured")
	}
	if (cfg.AccessKey == "") != (cfg.SecretKey == "") {
		return nil, errors.New("s3store: access key and secret key must be given together")
	}
	if cfg.MaxAttempts < 0 {
		return nil, fmt.Errorf("s3store: negative max attempts %d", cfg.MaxAttempts)
	}

	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	switch {
	case cfg.Anonymous:
		opts = append(opts, config.WithCredentialsProvider(aws.AnonymousCredentials{}))
	case cfg.AccessKey != "":
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3store: load aws config: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = defaultRegion
	}

	awsCfg.HTTPClient = httpClient()
	// The SDK's own log lines (e.g. "failed to discard remaining HTTP response body"
	// after a connection reset) go through slog's default logger, never as plain text
	// on stderr (services set a JSON default).
	awsCfg.Logger = logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelWarn
		if c == logging.Debug {
			level = slog.LevelDebug
		}
		slog.Default().Log(context.Background(), level, fmt.Sprintf(format, v...), "component", "aws-sdk")
	})
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = cfg.PathStyle
		if cfg.MaxAttempts > 0 {
			o.RetryMaxAttempts = cfg.MaxAttempts
		}
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			// Since 2025 the SDK adds CRC32 checksums (and aws-chunked trailers)
			// to every upload by default; several S3-compatible servers reject or
			// mis-store those. Only send/validate them where the API requires it.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	return &Client{s3: client}, nil
}

// Timeouts of every S3 request: a server that accepts and never answers, or stops
// sending, fails the request (the SDK retries it) instead of holding the caller.
const (
	connectTimeout = 10 * time.Second // TCP connect and TLS handshake, each
	headerTimeout  = time.Minute      // from the request sent to the response headers
	requestTimeout = 15 * time.Minute // one whole request, body included (a chunk's rasters are up to ~1 GiB)
	idleTimeout    = 90 * time.Second
)

func httpClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithTimeout(requestTimeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = connectTimeout }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.TLSHandshakeTimeout = connectTimeout
			tr.ResponseHeaderTimeout = headerTimeout
			tr.IdleConnTimeout = idleTimeout
		})
}

// normalizeEndpoint turns "host:port" into "https://host:port" and checks the scheme.
func normalizeEndpoint(ep string) (string, error) {
	ep = strings.TrimSpace(ep)
	if ep == "" {
		return "", nil
	}
	if !strings.Contains(ep, "://") {
		ep = "https://" + ep
	}
	if !strings.HasPrefix(ep, "http://") && !strings.HasPrefix(ep, "https://") {
		return "", fmt.Errorf("s3store: endpoint %q: scheme must be http or https", ep)
	}
	if strings.TrimPrefix(strings.TrimPrefix(ep, "http://"), "https://") == "" {
		return "", fmt.Errorf("s3store: endpoint %q has no host", ep)
	}
	return strings.TrimSuffix(ep, "/"), nil
}

// S3 returns the underlying aws-sdk-go-v2 client for operations this package does not
// wrap (presigning, multipart, ...).
func (c *Client) S3() *s3.Client { return c.s3 }

// PresignGet returns a URL that fetches bucket/key without credentials until it expires
// (a SigV4 query-string signature; the object need not exist yet).
func (c *Client) PresignGet(ctx context.Context, bucket, key string, expires time.Duration) (string, error) {
	if err := checkObject(bucket, key); err != nil {
		return "", err
	}
	req, err := s3.NewPresignClient(c.s3).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key},
		s3.WithPresignExpires(expires))
	if err != nil {
		return "", wrapErr("presign", bucket, key, err)
	}
	return req.URL, nil
}

// Get returns the whole object bucket/key. A missing object matches ErrNotFound.
func (c *Client) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if err := checkObject(bucket, key); err != nil {
		return nil, err
	}
	out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, wrapErr("get", bucket, key, err)
	}
	defer out.Body.Close()
	size := 0
	if out.ContentLength != nil && *out.ContentLength > 0 {
		size = int(*out.ContentLength)
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := buf.ReadFrom(out.Body); err != nil {
		return nil, wrapErr("get", bucket, key, fmt.Errorf("read body: %w", err))
	}
	return buf.Bytes(), nil
}

// Put stores body as bucket/key, replacing any existing object. contentType may be
// empty.
func (c *Client) Put(ctx context.Context, bucket, key string, body []byte, contentType string) error {
	if err := checkObject(bucket, key); err != nil {
		return err
	}
	in := &s3.PutObjectInput{
		Bucket:        &bucket,
		Key:           &key,
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	}
	if contentType != "" {
		in.ContentType = &contentType
	}
	if _, err := c.s3.PutObject(ctx, in); err != nil {
		return wrapErr("put", bucket, key, err)
	}
	return nil
}

// PutFile streams the local file at path to bucket/key in a single PutObject (so up
// to 5 GiB). contentType may be empty.
func (c *Client) PutFile(ctx context.Context, bucket, key, path, contentType string) error {
	if err := checkObject(bucket, key); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("put s3://%s/%s: %s is not a regular file", bucket, key, path)
	}
	in := &s3.PutObjectInput{
		Bucket:        &bucket,
		Key:           &key,
		Body:          f, // an *os.File is seekable: the SDK hashes it, rewinds and streams it
		ContentLength: aws.Int64(st.Size()),
	}
	if contentType != "" {
		in.ContentType = &contentType
	}
	if _, err := c.s3.PutObject(ctx, in); err != nil {
		return wrapErr("put", bucket, key, fmt.Errorf("from %s: %w", path, err))
	}
	return nil
}

// GetFile downloads bucket/key to the local path atomically: it writes a temporary
// file in path's directory (created if needed) and renames it over path only when the
// whole object has arrived. A missing object matches ErrNotFound and leaves path
// untouched.
func (c *Client) GetFile(ctx context.Context, bucket, key, path string) error {
	if err := checkObject(bucket, key); err != nil {
		return err
	}
	out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return wrapErr("get", bucket, key, err)
	}
	defer out.Body.Close()
	if err := writeFileAtomic(path, out.Body); err != nil {
		return wrapErr("get", bucket, key, err)
	}
	return nil
}

// List returns every key in bucket that starts with prefix, in lexicographic order,
// following continuation tokens until the listing is complete.
func (c *Client) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	in := &s3.ListObjectsV2Input{Bucket: &bucket}
	if prefix != "" {
		in.Prefix = &prefix
	}
	var keys []string
	p := s3.NewListObjectsV2Paginator(c.s3, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrapErr("list", bucket, prefix, err)
		}
		for _, obj := range page.Contents {
			keys = append(keys, aws.ToString(obj.Key))
		}
	}
	return keys, nil
}

// ListDirs returns the "folders" right below prefix (which should end in "/" or be ""):
// the distinct next path elements of the keys under it, without the prefix or the
// trailing "/", sorted. It is one delimiter listing (S3 CommonPrefixes), so it costs a
// request per thousand folders, not per thousand keys below them.
func (c *Client) ListDirs(ctx context.Context, bucket, prefix string) ([]string, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	in := &s3.ListObjectsV2Input{Bucket: &bucket, Delimiter: aws.String("/")}
	if prefix != "" {
		in.Prefix = &prefix
	}
	var dirs []string
	p := s3.NewListObjectsV2Paginator(c.s3, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrapErr("list", bucket, prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			d := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/")
			if d != "" {
				dirs = append(dirs, d)
			}
		}
	}
	slices.Sort(dirs)
	return dirs, nil
}

// Delete removes bucket/key. Deleting a key that does not exist is not an error; a
// missing bucket is (ErrBucketNotFound).
func (c *Client) Delete(ctx context.Context, bucket, key string) error {
	if err := checkObject(bucket, key); err != nil {
		return err
	}
	_, err := c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		err = wrapErr("delete", bucket, key, err)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// EnsureBucket creates bucket unless it already exists and is ours.
func (c *Client) EnsureBucket(ctx context.Context, bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	_, err := c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket})
	if err == nil {
		return nil
	}
	// HEAD responses have no body, so a missing bucket shows up as a bare 404.
	if !isBucketMissing(err) && !isStatus(err, http.StatusNotFound) {
		return fmt.Errorf("ensure bucket %s: %w", bucket, err)
	}
	in := &s3.CreateBucketInput{Bucket: &bucket}
	if r := c.s3.Options().Region; r != "" && r != defaultRegion {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(r),
		}
	}
	_, err = c.s3.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) { // owned: someone raced us, fine
		return fmt.Errorf("ensure bucket %s: create: %w", bucket, err)
	}
	return nil
}

// wrapErr labels err with the operation and object, and adds ErrNotFound or
// ErrBucketNotFound to the chain when the server said so. The SDK error stays in
// the chain for errors.As.
func wrapErr(op, bucket, key string, err error) error {
	where := "s3://" + bucket + "/" + key
	switch {
	case isBucketMissing(err):
		return fmt.Errorf("%s %s: %w: %w", op, where, ErrBucketNotFound, err)
	case isKeyMissing(err):
		return fmt.Errorf("%s %s: %w: %w", op, where, ErrNotFound, err)
	}
	return fmt.Errorf("%s %s: %w", op, where, err)
}

func isBucketMissing(err error) bool {
	var nb *types.NoSuchBucket
	if errors.As(err, &nb) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "NoSuchBucket"
}

// isKeyMissing reports NoSuchKey, NotFound (HEAD has no body, so no code) and a 404
// without any error code. A 404 with another code is not a missing object: versitygw,
// for one, answers an unknown access key with 404 XAdminUserNotFound.
func isKeyMissing(err error) bool {
	var nk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nk) || errors.As(err, &nf) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		case "":
		default:
			return false
		}
	}
	return isStatus(err, http.StatusNotFound)
}

// isStatus reports whether err carries an HTTP response with the given status code.
func isStatus(err error, code int) bool {
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == code
}

func checkBucket(bucket string) error {
	if bucket == "" {
		return errors.New("s3store: empty bucket name")
	}
	return nil
}

func checkObject(bucket, key string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("s3store: empty key in bucket %s", bucket)
	}
	return nil
}

// writeFileAtomic copies r into a temporary file next to path, then renames it to
// path. On any error the temporary file is removed and path is left as it was.
func writeFileAtomic(path string, r io.Reader) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, r); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return nil
}

// ParseURL splits "s3://bucket/some/prefix" into ("bucket", "some/prefix"). The key
// may be empty ("s3://bucket" or "s3://bucket/"); it is returned verbatim otherwise
// (no percent-decoding: S3 keys may contain '%', '?', '#' and spaces).
func ParseURL(u string) (bucket, key string, err error) {
	const scheme = "s3://"
	if len(u) < len(scheme) || !strings.EqualFold(u[:len(scheme)], scheme) {
		return "", "", fmt.Errorf("parse s3 url %q: want s3://bucket/key", u)
	}
	rest := u[len(scheme):]
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("parse s3 url %q: empty bucket name", u)
	}
	for _, r := range bucket {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '-' || r == '_'
		if !ok {
			return "", "", fmt.Errorf("parse s3 url %q: invalid character %q in bucket name", u, r)
		}
	}
	return bucket, key, nil
}

// URL is the inverse of ParseURL: "s3://bucket/key".
func URL(bucket, key string) string { return "s3://" + bucket + "/" + key }
