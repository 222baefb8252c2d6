package stac

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// staticWorkers bounds how many item documents a Static search reads and parses at once.
const staticWorkers = 8

// Static is a static catalog: every *.json below a local folder or an s3://bucket/prefix
// that is a STAC Item. Other JSON documents (collections, catalogs, feature collections,
// random JSON) are ignored silently; unreadable or malformed item JSON is skipped with a
// logged warning. Every Search walks the catalog again, so files added meanwhile are seen.
// A Static is safe for concurrent use.
type Static struct {
	root   string // absolute local folder, or "s3://bucket/prefix/"
	local  bool
	bucket string
	prefix string // "" or ending in "/"
	store  ObjectStore
	logger *slog.Logger
}

var _ Searcher = (*Static)(nil)

// NewStatic returns the static catalog below root, a local folder or "s3://bucket/prefix"
// read through store. store may be nil for local roots. A nil logger discards logs.
func NewStatic(root string, store ObjectStore, logger *slog.Logger) (*Static, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Static{store: store, logger: logger}
	switch {
	case root == "":
		return nil, errors.New("static catalog: empty root")
	case strings.HasPrefix(root, "s3://"):
		if store == nil {
			return nil, fmt.Errorf("static catalog %s: s3 root needs an object store", root)
		}
		bucket, prefix := splitS3(root)
		if bucket == "" {
			return nil, fmt.Errorf("static catalog %s: no bucket", root)
		}
		prefix = strings.TrimLeft(prefix, "/")
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		s.bucket, s.prefix = bucket, prefix
		s.root = "s3://" + bucket + "/" + prefix
	case hasScheme(root):
		return nil, fmt.Errorf("static catalog %s: unsupported scheme (want a local folder or s3://)", root)
	default:
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, fmt.Errorf("static catalog %s: %w", root, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("static catalog: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("static catalog %s: not a directory", abs)
		}
		s.root, s.local = abs, true
	}
	return s, nil
}

// Root returns the catalog root: an absolute folder or "s3://bucket/prefix/".
func (s *Static) Root() string { return s.root }

// Search returns the items of the catalog matching q (see Query.Match), without items
// missing RequiredAssets (each logged as a warning), deduplicated with Dedupe and sorted
// by datetime then id. Incomplete items are dropped before Dedupe, so a complete _0 item
// survives next to an incomplete _1. Storage errors other than a missing key, and
// cancellation of ctx, fail the search.
func (s *Static) Search(ctx context.Context, q Query) ([]Item, error) {
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("search static catalog %s: %w", s.root, err)
	}
	refs, err := s.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("search static catalog %s: %w", s.root, err)
	}
	matched, err := s.scan(ctx, refs, q)
	if err != nil {
		return nil, fmt.Errorf("search static catalog %s: %w", s.root, err)
	}
	items := selectItems(matched, q.assets(), s.logger)
	s.logger.Debug("static catalog searched", "root", s.root, "json_files", len(refs),
		"matched", len(matched), "returned", len(items))
	return items, nil
}

// selectItems is the end of every Searcher: drop (and log) items missing
// RequiredAssets, Dedupe, sort.
func selectItems(items []Item, assets []string, logger *slog.Logger) []Item {
	usable, incomplete := Usable(items, assets...)
	for _, it := range incomplete {
		logger.Warn("skip stac item missing required assets",
			"item", it.ID, "href", it.Href, "missing", it.MissingAssets(assets...))
	}
	out := Dedupe(usable)
	if n := len(usable) - len(out); n > 0 {
		logger.Debug("dropped superseded stac items", "count", n)
	}
	SortItems(out)
	return out
}

// list returns the locations of every *.json below the root: absolute paths, or keys.
func (s *Static) list(ctx context.Context) ([]string, error) {
	if !s.local {
		keys, err := s.store.List(ctx, s.bucket, s.prefix)
		if err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		var out []string
		for _, k := range keys {
			if isJSON(k) {
				out = append(out, k)
			}
		}
		return out, nil
	}
	var out []string
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == s.root {
				return err
			}
			s.logger.Warn("skip unreadable path in static catalog", "path", p, "err", err)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.IsDir() && isJSON(d.Name()) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk: %w", err)
	}
	return out, nil
}

func isJSON(name string) bool {
	return strings.EqualFold(filepath.Ext(name), ".json")
}

// scan reads and parses refs with a bounded pool of workers and returns the items
// matching q, in no particular order.
func (s *Static) scan(ctx context.Context, refs []string, q Query) ([]Item, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var (
		mu  sync.Mutex
		out []Item
		wg  sync.WaitGroup
	)
	jobs := make(chan string)
	for range min(staticWorkers, len(refs)) {
		wg.Go(func() {
			for ref := range jobs {
				if ctx.Err() != nil {
					continue // drain
				}
				it, ok, err := s.load(ctx, ref)
				if err != nil {
					cancel(err)
					continue
				}
				if ok && q.Match(it) {
					mu.Lock()
					out = append(out, it)
					mu.Unlock()
				}
			}
		})
	}
feed:
	for _, ref := range refs {
		select {
		case jobs <- ref:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// load reads and parses one document. ok is false for documents that are skipped (not
// items: silently; unreadable or malformed: with a warning). err is set only for
// failures that must fail the search.
func (s *Static) load(ctx context.Context, ref string) (it Item, ok bool, err error) {
	var (
		data []byte
		href string
	)
	if s.local {
		href = ref
		if data, err = os.ReadFile(ref); err != nil {
			s.logger.Warn("skip unreadable stac item", "href", href, "err", err)
			return Item{}, false, nil
		}
	} else {
		href = "s3://" + s.bucket + "/" + ref
		if data, err = s.store.Get(ctx, s.bucket, ref); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				s.logger.Warn("skip vanished stac item", "href", href, "err", err)
				return Item{}, false, nil
			}
			return Item{}, false, fmt.Errorf("get %s: %w", href, err)
		}
	}
	it, err = ParseItem(data, href)
	switch {
	case errors.Is(err, ErrNotItem):
		return Item{}, false, nil
	case err != nil:
		s.logger.Warn("skip malformed stac item", "href", href, "err", err)
		return Item{}, false, nil
	}
	return it, true, nil
}
