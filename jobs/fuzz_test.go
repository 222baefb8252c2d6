package jobs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/changewatch/changewatch/internal/testenv"
)

// FuzzDecodePayload: whatever the payload, the decoders return a validated request or a
// BadRequest, never panic, and an accepted payload is within every bound (so the worker
// allocates nothing a payload did not earn). Seeded with valid detect, chunk and merge
// payloads around the real Okapi reserve boundary of ../shared/data/aoi.
func FuzzDecodePayload(f *testing.F) {
	aoi, err := os.ReadFile(filepath.Join(testenv.SharedData(f), "aoi", "okapi_wildlife_reserve_wri_2013.geojson"))
	if err != nil {
		f.Fatal(err)
	}
	req := goodRequest()
	req.AOI = aoi
	d, _ := json.Marshal(req)
	c, _ := json.Marshal(ChunkRequest{Version: PayloadVersion, Request: req, Run: "0123456789abcdef", Before: goodScenes(), After: goodScenes(),
		Index: 2, Count: 15, Col: 4080, Row: 4080, Width: 4080, Height: 4080})
	m, _ := json.Marshal(MergeRequest{Version: PayloadVersion, Request: req, Run: "0123456789abcdef", Before: goodScenes(), After: goodScenes(), Count: 15})
	for _, s := range [][]byte{d, c, m, []byte(`{"version":1,"count":3000000000}`), []byte(`{"version":1,"count":-1}`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if r, err := DecodeDetectRequest(payload); err == nil {
			if len(r.AOI) > MaxAOIBytes || (r.AOIID != "" && CheckID("aoi_id", r.AOIID) != nil) {
				t.Fatalf("accepted detect request out of bounds: %d bytes, id %q", len(r.AOI), r.AOIID)
			}
		} else if !isBadRequest(err) {
			t.Fatalf("detect: error of type %T: %v", err, err)
		}
		if c, err := DecodeChunkRequest(payload); err == nil {
			if c.Count < 1 || c.Count > MaxChunks || c.Index < 0 || c.Index >= c.Count || c.Width < 1 || c.Width > MaxChunkSide ||
				c.Height < 1 || c.Height > MaxChunkSide || c.Col < 0 || c.Row < 0 || len(c.Before) > MaxScenesPerPeriod || len(c.After) > MaxScenesPerPeriod {
				t.Fatalf("accepted chunk out of bounds: %+v", c)
			}
		} else if !isBadRequest(err) {
			t.Fatalf("chunk: error of type %T: %v", err, err)
		}
		if m, err := DecodeMergeRequest(payload); err == nil {
			if m.Count < 1 || m.Count > MaxChunks || !reRun.MatchString(m.Run) {
				t.Fatalf("accepted merge out of bounds: count %d run %q", m.Count, m.Run)
			}
		} else if !isBadRequest(err) {
			t.Fatalf("merge: error of type %T: %v", err, err)
		}
	})
}

func isBadRequest(err error) bool {
	_, ok := err.(*BadRequest)
	return ok
}
