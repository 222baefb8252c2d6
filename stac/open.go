package stac

import (
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"strings"
)

// Open returns the Searcher for a catalog location, as given to --catalog:
//
//   - an http:// or https:// URL is the landing page of a STAC API with Item Search
//     (e.g. "https://earth-search.aws.element84.com/v1"), searched by an API with the
//     default APIOptions and logger;
//   - anything else is a static catalog, a local folder or "s3://bucket/prefix" read
//     through store (see NewStatic; store may be nil for local folders).
//
// A URL ending in ".json" (a static catalog.json served over HTTP) is refused: only
// STAC APIs are searched over HTTP. A nil logger discards logs.
func Open(catalog string, store ObjectStore, logger *slog.Logger) (Searcher, error) {
	lower := strings.ToLower(strings.TrimSpace(catalog))
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		s, err := NewStatic(catalog, store, logger)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	if u, err := url.Parse(strings.TrimSpace(catalog)); err == nil && strings.EqualFold(path.Ext(u.Path), ".json") {
		return nil, fmt.Errorf("stac api %s: a json document, not a stac api root: static catalogs are read from a folder or s3://", catalog)
	}
	a, err := NewAPI(catalog, APIOptions{Logger: logger})
	if err != nil {
		return nil, err
	}
	return a, nil
}
