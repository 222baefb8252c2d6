package raster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/raster/cog"
	"github.com/changewatch/changewatch/s3store"
)

// TestClassifyRemote: of a remote file (the real S3 server), a read that came up short is
// retried when the file checks out (a transfer cut short: the soak's truncated ranges),
// and a damaged file is corrupt; decoding failures are corrupt, HTTP failures are not.
func TestClassifyRemote(t *testing.T) {
	endpoint, access, secret := testenv.S3Endpoint(t)
	Init(S3Config{Endpoint: endpoint, Region: "us-east-1", PathStyle: true, AccessKey: access, SecretKey: secret})
	ctx := context.Background()
	store, err := s3store.New(ctx, s3store.Config{Endpoint: endpoint, Region: "us-east-1", PathStyle: true, AccessKey: access, SecretKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	var nonce [4]byte
	rand.Read(nonce[:])
	bucket := "classify-" + hex.EncodeToString(nonce[:])
	if err := store.EnsureBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	const w, h = 600, 600
	good := filepath.Join(t.TempDir(), "good.tif")
	writeTestTIFF(t, good, testImage(w, h, true, 9), w, h, 10, "COG", "COMPRESS=DEFLATE", "BLOCKSIZE=256")
	img, err := cog.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	last := img.Offsets[len(img.Offsets)-1]
	img.Close()
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for key, data := range map[string][]byte{"good.tif": raw, "truncated.tif": raw[:last+10], "garbage.tif": []byte("not a tiff at all, just some bytes")} {
		if err := store.Put(ctx, bucket, key, data, "image/tiff"); err != nil {
			t.Fatal(err)
		}
	}
	shortRead := errors.New("TIFFFillTile:Read error at row 4294967295, col 4294967295, tile 0; got 8605 bytes, expected 24869\nTIFFReadEncodedTile() failed.")
	headCut := errors.New("TIFFFetchDirectory: Can not read TIFF directory count")
	decoding := errors.New("ZIPDecode:Decoding error at scanline 0\nTIFFReadEncodedTile() failed.")
	httpErr := errors.New("HTTP error code: 503 - TIFFReadEncodedTile() failed.")
	for _, tc := range []struct {
		name, key string
		err       error
		corrupt   bool
	}{
		{"short read of a sound file", "good.tif", shortRead, false},
		{"header cut of a sound file", "good.tif", headCut, false},
		{"short read of a truncated file", "truncated.tif", shortRead, true},
		{"header of a file that is no tiff", "garbage.tif", headCut, true},
		{"decoding failure", "good.tif", decoding, true},
		{"http failure", "truncated.tif", httpErr, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := classify("/vsis3/"+bucket+"/"+tc.key, tc.err)
			if errors.Is(got, ErrCorrupt) != tc.corrupt || !errors.Is(got, tc.err) {
				t.Fatalf("classify: %v; want corrupt %v, wrapping the error", got, tc.corrupt)
			}
		})
	}
}
