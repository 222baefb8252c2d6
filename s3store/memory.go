package s3store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
)

// Memory is an in-memory object store with Client's methods, for unit tests of the
// packages above. It behaves like a real server where tests could notice: buckets
// must be created (EnsureBucket) before use, missing objects and buckets return
// ErrNotFound and ErrBucketNotFound, bytes are copied in and out (callers cannot
// alias stored data), List is sorted, and a cancelled context fails the call.
//
// The zero value is an empty store ready to use. It is safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	buckets map[string]map[string]memObject
}

type memObject struct {
	data        []byte
	contentType string
}

// NewMemory returns an empty Memory with the given buckets already created.
func NewMemory(buckets ...string) *Memory {
	m := &Memory{}
	for _, b := range buckets {
		m.ensure(b)
	}
	return m
}

// EnsureBucket creates bucket unless it exists.
func (m *Memory) EnsureBucket(ctx context.Context, bucket string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ensure bucket %s: %w", bucket, err)
	}
	if err := checkBucket(bucket); err != nil {
		return err
	}
	m.ensure(bucket)
	return nil
}

func (m *Memory) ensure(bucket string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buckets == nil {
		m.buckets = make(map[string]map[string]memObject)
	}
	if m.buckets[bucket] == nil {
		m.buckets[bucket] = make(map[string]memObject)
	}
}

// bucket returns the objects of bucket; the caller holds m.mu.
func (m *Memory) bucket(op, bucket, key string) (map[string]memObject, error) {
	objs, ok := m.buckets[bucket]
	if !ok {
		return nil, fmt.Errorf("%s %s: %w", op, URL(bucket, key), ErrBucketNotFound)
	}
	return objs, nil
}

// Get returns a copy of the object bucket/key.
func (m *Memory) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	obj, err := m.get(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	return obj.data, nil
}

// ContentType returns the content type stored with bucket/key (for assertions in
// tests; Client has no equivalent).
func (m *Memory) ContentType(ctx context.Context, bucket, key string) (string, error) {
	obj, err := m.get(ctx, bucket, key)
	if err != nil {
		return "", err
	}
	return obj.contentType, nil
}

func (m *Memory) get(ctx context.Context, bucket, key string) (memObject, error) {
	if err := ctx.Err(); err != nil {
		return memObject{}, fmt.Errorf("get %s: %w", URL(bucket, key), err)
	}
	if err := checkObject(bucket, key); err != nil {
		return memObject{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	objs, err := m.bucket("get", bucket, key)
	if err != nil {
		return memObject{}, err
	}
	obj, ok := objs[key]
	if !ok {
		return memObject{}, fmt.Errorf("get %s: %w", URL(bucket, key), ErrNotFound)
	}
	return memObject{data: bytes.Clone(obj.data), contentType: obj.contentType}, nil
}

// Put stores a copy of body as bucket/key.
func (m *Memory) Put(ctx context.Context, bucket, key string, body []byte, contentType string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", URL(bucket, key), err)
	}
	if err := checkObject(bucket, key); err != nil {
		return err
	}
	data := bytes.Clone(body)
	if data == nil {
		data = []byte{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	objs, err := m.bucket("put", bucket, key)
	if err != nil {
		return err
	}
	objs[key] = memObject{data: data, contentType: contentType}
	return nil
}

// PutFile stores the contents of the local file at path as bucket/key.
func (m *Memory) PutFile(ctx context.Context, bucket, key, path, contentType string) error {
	if err := checkObject(bucket, key); err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("put %s: %w", URL(bucket, key), err)
	}
	return m.Put(ctx, bucket, key, data, contentType)
}

// GetFile writes bucket/key to the local path atomically (temporary file, then
// rename). A missing object leaves path untouched.
func (m *Memory) GetFile(ctx context.Context, bucket, key, path string) error {
	data, err := m.Get(ctx, bucket, key)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("get %s: %w", URL(bucket, key), err)
	}
	return nil
}

// List returns the keys in bucket starting with prefix, sorted.
// ListDirs returns the distinct next path elements of the keys under prefix, as
// Client.ListDirs does.
func (m *Memory) ListDirs(ctx context.Context, bucket, prefix string) ([]string, error) {
	keys, err := m.List(ctx, bucket, prefix)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, k := range keys {
		if d, _, ok := strings.Cut(strings.TrimPrefix(k, prefix), "/"); ok && d != "" {
			dirs = append(dirs, d)
		}
	}
	return slices.Compact(dirs), nil
}

func (m *Memory) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", URL(bucket, prefix), err)
	}
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	objs, err := m.bucket("list", bucket, prefix)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// Delete removes bucket/key; a missing key is not an error, a missing bucket is.
func (m *Memory) Delete(ctx context.Context, bucket, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", URL(bucket, key), err)
	}
	if err := checkObject(bucket, key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	objs, err := m.bucket("delete", bucket, key)
	if err != nil {
		return err
	}
	delete(objs, key)
	return nil
}
