package stac

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// ErrTransient is wrapped by API errors that a later retry of the same search may not
// meet: network errors and timeouts, HTTP 429 and 5xx after the retries are spent,
// a Retry-After too long to wait for, and the search's own Timeout. Callers (the
// worker) retry the job on it.
var ErrTransient = errors.New("temporary failure")

// ErrPermanent is wrapped by API errors that retrying the same search will meet again:
// an HTTP 4xx other than 429, a response that is not a STAC ItemCollection (malformed
// JSON), a next link that cannot be followed or repeats its page, more pages than
// MaxPages, an invalid Query. Callers fail the job without retrying.
var ErrPermanent = errors.New("permanent failure")

// Defaults of APIOptions.
const (
	DefaultPageSize       = 100
	DefaultMaxPages       = 50
	DefaultMaxRetries     = 4
	DefaultRetryBase      = 500 * time.Millisecond
	DefaultRequestTimeout = 30 * time.Second
	DefaultSearchTimeout  = 5 * time.Minute
)

const (
	// maxBackoff caps the exponential backoff between two attempts.
	maxBackoff = 30 * time.Second
	// maxRetryAfter is the longest Retry-After honoured; a server asking for more
	// ends the search with ErrTransient (the job is retried later instead).
	maxRetryAfter = 2 * time.Minute
	// maxPageBytes bounds one response body (100 Earth Search items are about 4.5 MB).
	maxPageBytes = 256 << 20
)

// APIOptions tune an API. The zero value means the defaults.
type APIOptions struct {
	// HTTPClient sends the requests; nil means a new client without a timeout of its
	// own (RequestTimeout and Timeout bound each request and the search).
	HTTPClient *http.Client
	// PageSize is the "limit" of each request (DefaultPageSize when 0).
	PageSize int
	// MaxPages bounds the pages one search follows (DefaultMaxPages when 0); a search
	// with more pages fails with ErrPermanent rather than return part of the result.
	MaxPages int
	// MaxRetries is how many times one page request is retried after a network
	// error, a timeout, HTTP 429 or 5xx (DefaultMaxRetries when 0, none when negative).
	MaxRetries int
	// RetryBase is the first backoff (DefaultRetryBase when 0); attempt n waits a
	// random duration in [d/2, d] with d = RetryBase·2ⁿ capped at 30 s, or the
	// response's Retry-After when present.
	RetryBase time.Duration
	// RequestTimeout bounds one HTTP attempt, response body included
	// (DefaultRequestTimeout when 0).
	RequestTimeout time.Duration
	// Timeout bounds a whole Search, all pages and retries (DefaultSearchTimeout when
	// 0). Expiry fails the search with ErrTransient.
	Timeout time.Duration
	// Logger receives retries (warn), skipped items (warn) and pages (debug); nil
	// discards.
	Logger *slog.Logger
}

// API is a Searcher over a STAC API that implements the Item Search conformance class
// (STAC API v1.0.0, item-search: POST {root}/search; specification at
// https://github.com/radiantearth/stac-api-spec/tree/v1.0.0/item-search), such as
// Earth Search (https://earth-search.aws.element84.com/v1). Only the core search
// parameters and the Query extension (for eo:cloud_cover) are used. An API is safe
// for concurrent use.
type API struct {
	root      string
	searchURL string
	client    *http.Client
	opts      APIOptions
	logger    *slog.Logger
	// sleep waits between attempts; tests replace it to record the waits.
	sleep func(ctx context.Context, d time.Duration) error
}

var _ Searcher = (*API)(nil)

// NewAPI returns the client of the STAC API whose landing page is baseURL (http or
// https), e.g. "https://earth-search.aws.element84.com/v1"; searches go to
// baseURL + "/search". A baseURL already ending in "/search" is taken as the search
// endpoint itself. Nothing is requested until Search.
func NewAPI(baseURL string, opts APIOptions) (*API, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("stac api %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("stac api %q: want an http:// or https:// url", baseURL)
	}
	if opts.PageSize < 0 || opts.MaxPages < 0 || opts.RetryBase < 0 || opts.RequestTimeout < 0 || opts.Timeout < 0 {
		return nil, fmt.Errorf("stac api %s: negative option", baseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	u.Fragment = ""
	root := u.String()
	if !strings.HasSuffix(u.Path, "/search") {
		u = u.JoinPath("search")
	} else {
		root = strings.TrimSuffix(root, "/search")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.HTTPClient.CheckRedirect == nil {
		// A redirect may not leave the API's scheme and host: a catalog host answering
		// 302 to a loopback or metadata address must not have the worker fetch it.
		c := *opts.HTTPClient
		c.CheckRedirect = sameOrigin(u.Scheme, u.Host)
		opts.HTTPClient = &c
	}
	if opts.PageSize == 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.MaxPages == 0 {
		opts.MaxPages = DefaultMaxPages
	}
	switch {
	case opts.MaxRetries == 0:
		opts.MaxRetries = DefaultMaxRetries
	case opts.MaxRetries < 0:
		opts.MaxRetries = 0
	}
	if opts.RetryBase == 0 {
		opts.RetryBase = DefaultRetryBase
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultSearchTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &API{
		root:      root,
		searchURL: u.String(),
		client:    opts.HTTPClient,
		opts:      opts,
		logger:    opts.Logger,
		sleep:     sleepContext,
	}, nil
}

// Root returns the API's landing page URL.
func (a *API) Root() string { return a.root }

// Search runs an Item Search (POST /search, STAC API item-search) built from q:
// collections, intersects (the GeoJSON of q.Intersects; else bbox from q.Bound),
// datetime (the closed interval widened to whole seconds, ".." for an open end),
// limit (PageSize) and, when q.MaxCloudCover > 0, the Query extension's
// {"eo:cloud_cover": {"lte": MaxCloudCover}}. It follows the "next" links until a
// page has none (or no features). Every feature is decoded with ParseItem (relative
// asset hrefs resolved against the item's self link), checked again with q.Match, and
// the result is selected like Static's: items missing the required assets are
// skipped with a warning, then Dedupe, then sorted by datetime and id.
//
// Each request is retried on network errors, timeouts, 429 and 5xx (see APIOptions);
// errors wrap ErrTransient or ErrPermanent, or the context's error when ctx ends.
func (a *API) Search(ctx context.Context, q Query) ([]Item, error) {
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("search stac api %s: %w: %w", a.root, ErrPermanent, err)
	}
	body, err := searchBody(q, a.opts.PageSize)
	if err != nil {
		return nil, fmt.Errorf("search stac api %s: %w: %w", a.root, ErrPermanent, err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, a.opts.Timeout,
		fmt.Errorf("%w: search timed out after %s: %w", ErrTransient, a.opts.Timeout, context.DeadlineExceeded))
	defer cancel()

	req := pageRequest{method: http.MethodPost, url: a.searchURL, body: body}
	var matched []Item
	features := 0
	for page := 1; ; page++ {
		if page > a.opts.MaxPages {
			return nil, fmt.Errorf("search stac api %s: %w: more than %d pages of %d items; narrow the query or raise MaxPages",
				a.root, ErrPermanent, a.opts.MaxPages, a.opts.PageSize)
		}
		res, err := a.page(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("search stac api %s: page %d: %w", a.root, page, err)
		}
		features += len(res.Features)
		for i, raw := range res.Features {
			it, err := ParseItem(raw, "")
			if err != nil {
				a.logger.Warn("skip malformed stac item in search results", "page", page, "feature", i, "err", err)
				continue
			}
			if q.Match(it) {
				matched = append(matched, it)
			}
		}
		next, ok, err := nextRequest(req, res.Links)
		if err != nil {
			return nil, fmt.Errorf("search stac api %s: page %d: %w: %w", a.root, page, ErrPermanent, err)
		}
		a.logger.Debug("stac api page", "root", a.root, "page", page, "features", len(res.Features), "next", ok)
		if !ok || len(res.Features) == 0 {
			break
		}
		if next.key() == req.key() {
			return nil, fmt.Errorf("search stac api %s: page %d: %w: next link repeats the page", a.root, page, ErrPermanent)
		}
		req = next
	}
	items := selectItems(matched, q.assets(), a.logger)
	a.logger.Debug("stac api searched", "root", a.root, "features", features, "matched", len(matched), "returned", len(items))
	return items, nil
}

// itemCollection is a page of Item Search results (a GeoJSON FeatureCollection).
type itemCollection struct {
	Type     string            `json:"type"`
	Features []json.RawMessage `json:"features"`
	Links    []apiLink         `json:"links"`
}

// apiLink is a link of a search page. For rel "next", STAC API item-search v1.0.0
// (section "Pagination") adds to the plain link: method (default GET), headers, body
// (the JSON request body for POST) and merge (true: body is merged into the previous
// request's body, its keys replacing the previous ones; false: body replaces it).
// A POST link without a body repeats the previous body. The last page has no "next".
type apiLink struct {
	Rel     string                     `json:"rel"`
	Href    string                     `json:"href"`
	Method  string                     `json:"method"`
	Headers map[string]json.RawMessage `json:"headers"`
	Body    map[string]json.RawMessage `json:"body"`
	Merge   bool                       `json:"merge"`
}

// pageRequest is one page's request.
type pageRequest struct {
	method string
	url    string
	body   map[string]json.RawMessage // POST only
	header http.Header
}

// key identifies a request, to detect a next link that points at its own page.
func (r pageRequest) key() string {
	b, _ := json.Marshal(r.body) // map keys are sorted
	return r.method + " " + r.url + " " + string(b)
}

// nextRequest returns the request of the page after cur, from cur's page links; ok is
// false on the last page.
func nextRequest(cur pageRequest, links []apiLink) (next pageRequest, ok bool, err error) {
	i := -1
	for j, l := range links {
		if strings.EqualFold(l.Rel, "next") {
			i = j
			break
		}
	}
	if i < 0 {
		return pageRequest{}, false, nil
	}
	l := links[i]
	if l.Href == "" {
		return pageRequest{}, false, errors.New("next link without href")
	}
	base, err := url.Parse(cur.url)
	if err != nil {
		return pageRequest{}, false, err
	}
	ref, err := url.Parse(l.Href)
	if err != nil {
		return pageRequest{}, false, fmt.Errorf("next link: %w", err)
	}
	nu := base.ResolveReference(ref)
	if nu.Scheme != base.Scheme || !strings.EqualFold(nu.Host, base.Host) {
		return pageRequest{}, false, fmt.Errorf("next link %q: %w: it leaves the API's host %s", l.Href, ErrPermanent, base.Host)
	}
	next = pageRequest{method: strings.ToUpper(l.Method), url: nu.String()}
	if next.method == "" {
		next.method = http.MethodGet
	}
	switch next.method {
	case http.MethodGet:
	case http.MethodPost:
		switch {
		case l.Merge || l.Body == nil:
			next.body = maps.Clone(cur.body)
			if next.body == nil {
				next.body = map[string]json.RawMessage{}
			}
			maps.Copy(next.body, l.Body)
		default:
			next.body = l.Body
		}
	default:
		return pageRequest{}, false, fmt.Errorf("next link method %q", l.Method)
	}
	if len(l.Headers) > 0 {
		next.header = http.Header{}
		for k, raw := range l.Headers {
			var one string
			var many []string
			switch {
			case json.Unmarshal(raw, &one) == nil:
				next.header.Set(k, one)
			case json.Unmarshal(raw, &many) == nil:
				for _, v := range many {
					next.header.Add(k, v)
				}
			default:
				return pageRequest{}, false, fmt.Errorf("next link header %s: not a string or list of strings", k)
			}
		}
	}
	return next, true, nil
}

// page fetches one page, retrying transient failures, and decodes it.
func (a *API) page(ctx context.Context, req pageRequest) (itemCollection, error) {
	data, err := a.fetch(ctx, req)
	if err != nil {
		return itemCollection{}, fmt.Errorf("%s %s: %w", req.method, req.url, err)
	}
	var res itemCollection
	if err := json.Unmarshal(data, &res); err != nil {
		return itemCollection{}, fmt.Errorf("%s %s: %w: decode response: %w", req.method, req.url, ErrPermanent, err)
	}
	if res.Type != "FeatureCollection" {
		return itemCollection{}, fmt.Errorf("%s %s: %w: response is not a FeatureCollection (type %q)", req.method, req.url, ErrPermanent, res.Type)
	}
	return res, nil
}

// retryable is an attempt's failure worth another attempt.
type retryable struct {
	err        error
	retryAfter time.Duration // the server's Retry-After; < 0 when absent
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// fetch performs req, retrying network errors, timeouts, 429 and 5xx, and returns the
// body of a 2xx response.
func (a *API) fetch(ctx context.Context, req pageRequest) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		data, err := a.attempt(ctx, req)
		if err == nil {
			return data, nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		r, ok := errors.AsType[*retryable](err)
		if !ok {
			return nil, err
		}
		if attempt >= a.opts.MaxRetries {
			return nil, fmt.Errorf("%w after %d attempts: %w", ErrTransient, attempt+1, r.err)
		}
		wait := a.backoff(attempt)
		if r.retryAfter >= 0 {
			wait = r.retryAfter
		}
		if wait > maxRetryAfter {
			return nil, fmt.Errorf("%w: server asks to retry after %s: %w", ErrTransient, wait, r.err)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, fmt.Errorf("%w: next attempt in %s would pass the deadline: %w", ErrTransient, wait, r.err)
		}
		a.logger.Warn("stac api request failed, retrying", "method", req.method, "url", req.url,
			"attempt", attempt+1, "wait", wait, "err", r.err)
		if err := a.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// attempt performs req once within RequestTimeout. Failures worth a retry are
// *retryable; others wrap ErrPermanent, or are the context's error.
func (a *API) attempt(ctx context.Context, req pageRequest) ([]byte, error) {
	actx, cancel := context.WithTimeout(ctx, a.opts.RequestTimeout)
	defer cancel()
	var body io.Reader
	if req.method == http.MethodPost {
		data, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("%w: encode request: %w", ErrPermanent, err)
		}
		body = bytes.NewReader(data)
	}
	hr, err := http.NewRequestWithContext(actx, req.method, req.url, body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	maps.Copy(hr.Header, req.header)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.Header.Set("Accept", "application/geo+json, application/json")

	// timedOut labels errors caused by the per-request timeout (not by ctx).
	timedOut := func(err error) error {
		if actx.Err() != nil && ctx.Err() == nil {
			return fmt.Errorf("no complete response within %s: %w", a.opts.RequestTimeout, err)
		}
		return err
	}
	resp, err := a.client.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, &retryable{err: timedOut(err), retryAfter: -1}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxPageBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, &retryable{err: timedOut(fmt.Errorf("read response: %w", err)), retryAfter: -1}
	}
	if len(data) > maxPageBytes {
		return nil, fmt.Errorf("%w: response larger than %d bytes", ErrPermanent, maxPageBytes)
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return data, nil
	case code == http.StatusTooManyRequests || code >= 500:
		return nil, &retryable{err: statusError(resp, data), retryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	default:
		return nil, fmt.Errorf("%w: %w", ErrPermanent, statusError(resp, data))
	}
}

// statusError describes an unsuccessful response with the server's message: the
// "description" of a STAC API exception ({"code", "description"}), else "detail",
// "message" or "error" as other servers send, else the start of the body.
func statusError(resp *http.Response, data []byte) error {
	var doc struct {
		Code        any    `json:"code"`
		Description string `json:"description"`
		Detail      any    `json:"detail"`
		Message     string `json:"message"`
		Error       any    `json:"error"`
	}
	msg := ""
	if json.Unmarshal(data, &doc) == nil {
		for _, v := range []any{doc.Description, doc.Detail, doc.Message, doc.Error} {
			if s := textOf(v); s != "" {
				msg = s
				break
			}
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(string(data))
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if r := []rune(msg); len(r) > 300 {
		msg = string(r[:300]) + "..."
	}
	if msg == "" {
		return fmt.Errorf("status %s", resp.Status)
	}
	return fmt.Errorf("status %s: %s", resp.Status, msg)
}

// textOf renders a decoded JSON message (string or structure) as text.
func textOf(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); -1 when absent or
// unparsable.
func retryAfter(h string) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return -1
	}
	if s, err := strconv.Atoi(h); err == nil {
		if s < 0 {
			return -1
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return -1
}

// backoff returns the wait before attempt+1: a random duration in [d/2, d] with
// d = RetryBase·2^attempt, capped at maxBackoff.
func (a *API) backoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt < 30 {
		d = min(a.opts.RetryBase<<attempt, maxBackoff)
	}
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleepContext waits d, or until ctx ends (returning its cause).
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// searchBody is the Item Search request body for q.
func searchBody(q Query, limit int) (map[string]json.RawMessage, error) {
	fields := map[string]any{"limit": limit}
	if len(q.Collections) > 0 {
		fields["collections"] = q.Collections
	} else {
		fields["collections"] = []string{CollectionL2A}
	}
	switch {
	case q.Intersects != nil && len(vertices(q.Intersects, nil)) > 0:
		g, err := geoJSON(q.Intersects)
		if err != nil {
			return nil, fmt.Errorf("intersects: %w", err)
		}
		fields["intersects"] = g
	case q.Bound != (orb.Bound{}):
		fields["bbox"] = []float64{q.Bound.Min.X(), q.Bound.Min.Y(), q.Bound.Max.X(), q.Bound.Max.Y()}
	}
	if dt := datetimeInterval(q.Start, q.End); dt != "" {
		fields["datetime"] = dt
	}
	if q.MaxCloudCover > 0 {
		fields["query"] = map[string]any{"eo:cloud_cover": map[string]float64{"lte": q.MaxCloudCover}}
	}
	body := make(map[string]json.RawMessage, len(fields))
	for k, v := range fields {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		body[k] = b
	}
	return body, nil
}

// datetimeInterval formats [start, end] as an Item Search datetime: RFC 3339 in UTC,
// start rounded down and end rounded up to the second (the server may return a little
// more; Query.Match trims it), ".." for an open end, "" when both are open.
func datetimeInterval(start, end time.Time) string {
	if start.IsZero() && end.IsZero() {
		return ""
	}
	s, e := "..", ".."
	if !start.IsZero() {
		s = start.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	if !end.IsZero() {
		t := end.UTC()
		if c := t.Truncate(time.Second); !c.Equal(t) {
			t = c.Add(time.Second)
		}
		e = t.Format(time.RFC3339)
	}
	return s + "/" + e
}

// geoJSONGeometry is a GeoJSON geometry object for encoding.
type geoJSONGeometry struct {
	Type        string            `json:"type"`
	Coordinates any               `json:"coordinates,omitempty"`
	Geometries  []geoJSONGeometry `json:"geometries,omitempty"`
}

// geoJSON converts an orb geometry to GeoJSON (a Ring or Bound becomes a Polygon).
func geoJSON(g orb.Geometry) (geoJSONGeometry, error) {
	switch g := g.(type) {
	case orb.Point:
		return geoJSONGeometry{Type: "Point", Coordinates: g}, nil
	case orb.MultiPoint:
		return geoJSONGeometry{Type: "MultiPoint", Coordinates: g}, nil
	case orb.LineString:
		return geoJSONGeometry{Type: "LineString", Coordinates: g}, nil
	case orb.MultiLineString:
		return geoJSONGeometry{Type: "MultiLineString", Coordinates: g}, nil
	case orb.Ring:
		return geoJSONGeometry{Type: "Polygon", Coordinates: orb.Polygon{g}}, nil
	case orb.Polygon:
		return geoJSONGeometry{Type: "Polygon", Coordinates: g}, nil
	case orb.MultiPolygon:
		return geoJSONGeometry{Type: "MultiPolygon", Coordinates: g}, nil
	case orb.Bound:
		return geoJSONGeometry{Type: "Polygon", Coordinates: g.ToPolygon()}, nil
	case orb.Collection:
		out := geoJSONGeometry{Type: "GeometryCollection", Geometries: []geoJSONGeometry{}}
		for _, sub := range g {
			s, err := geoJSON(sub)
			if err != nil {
				return geoJSONGeometry{}, err
			}
			out.Geometries = append(out.Geometries, s)
		}
		return out, nil
	}
	return geoJSONGeometry{}, fmt.Errorf("unsupported geometry %T", g)
}

// sameOrigin is a CheckRedirect that follows at most 5 redirects, all on scheme://host.
func sameOrigin(scheme, host string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return fmt.Errorf("%w: more than 5 redirects", ErrPermanent)
		}
		if req.URL.Scheme != scheme || !strings.EqualFold(req.URL.Host, host) {
			return fmt.Errorf("redirect to %s: %w: it leaves the API's host %s", req.URL.Redacted(), ErrPermanent, host)
		}
		return nil
	}
}
