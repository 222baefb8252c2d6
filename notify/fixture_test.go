package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/changewatch/changewatch/raster"
)

// The fixture: a 3 x 3 km AOI on UTM 35N near Muchacha with three monthly runs. In
// March, inc-muchacha-a (a 6 ha scar) is new inside the reserve 0.4 km from the mine,
// inc-muchacha-b (a pond) grew from 2 to 4 ha, inc-muchacha-c (a burn) was seen in
// January only.
const (
	fixAOI = "muchacha"
	fixRun = "2024-03_2024-03"
)

var fixGrid = raster.Grid{EPSG: 32635, X0: 567000, Y0: 146000, Res: 10, Width: 300, Height: 300}

type rect struct{ c0, r0, c1, r1 int } // pixels of fixGrid

// lonLat returns the rectangle's ring in lon/lat.
func (q rect) ring(t testing.TB) [][2]float64 {
	es := []float64{float64(q.c0), float64(q.c1), float64(q.c1), float64(q.c0), float64(q.c0)}
	ns := []float64{float64(q.r0), float64(q.r0), float64(q.r1), float64(q.r1), float64(q.r0)}
	for i := range es {
		es[i] = fixGrid.X0 + es[i]*fixGrid.Res
		ns[i] = fixGrid.Y0 - ns[i]*fixGrid.Res
	}
	if err := raster.TransformPoints(32635, 4326, es, ns); err != nil {
		t.Fatal(err)
	}
	out := make([][2]float64, len(es))
	for i := range es {
		out[i] = [2]float64{es[i], ns[i]}
	}
	return out
}

func (q rect) has(c, r int) bool { return c >= q.c0 && c < q.c1 && r >= q.r0 && r < q.r1 }

var (
	scarA     = rect{60, 80, 90, 100}    // 300 x 200 m = 6 ha
	pondB     = rect{200, 200, 220, 220} // 2 ha before
	pondBNow  = rect{200, 200, 240, 220} // 4 ha after
	burnC     = rect{150, 20, 170, 40}
	fixBounds = rect{0, 0, 300, 300}
)

// writeFixture writes ledger.json, the run's item.json and both true-colour COGs under
// out (a local output root) and returns the ledger's JSON.
func writeFixture(t testing.TB, out string, rgb bool) []byte {
	t.Helper()
	ctx := context.Background()
	runDir := filepath.Join(out, fixAOI, fixRun)
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if rgb {
		for _, which := range []string{"before", "after"} {
			rng := rand.New(rand.NewPCG(1, 2))
			px := make([]uint8, 3*fixGrid.Pixels())
			for r := 0; r < fixGrid.Height; r++ {
				for c := 0; c < fixGrid.Width; c++ {
					p := px[3*(r*fixGrid.Width+c):]
					n := uint8(rng.IntN(14))
					p[0], p[1], p[2] = 40+n, 90+n, 45+n // forest
					switch {
					case which == "after" && scarA.has(c, r):
						p[0], p[1], p[2] = 190+n, 150+n, 110+n
					case pondB.has(c, r) || which == "after" && pondBNow.has(c, r):
						p[0], p[1], p[2] = 30, 60+n, 110+n
					case which == "before" && burnC.has(c, r):
						p[0], p[1], p[2] = 40+n, 35+n, 30+n
					case r > 285:
						p[0], p[1], p[2] = 0, 0, 0 // not observed
					}
				}
			}
			if err := raster.WriteRGBCOG(ctx, filepath.Join(runDir, which+"_rgb.tif"), fixGrid, px); err != nil {
				t.Fatal(err)
			}
		}
	}
	aoi := fixBounds.ring(t)
	item := map[string]any{"type": "Feature", "id": "changewatch-muchacha-20230301-20240331",
		"bbox": []float64{aoi[0][0], aoi[2][1], aoi[1][0], aoi[0][1]},
		"properties": map[string]any{"changewatch:aoi_name": "Muchacha gold mine (IPIS)",
			"changewatch:before": "2023-03-01/2023-03-31", "changewatch:after": "2024-03-01/2024-03-31",
			"changewatch:scenes_before": []string{"S2A_35NPA_20230305_0_L2A", "S2B_35NPA_20230320_0_L2A"},
			"changewatch:scenes_after":  []string{"S2A_35NPA_20240309_0_L2A", "S2B_35NPA_20240324_0_L2A"},
			"changewatch:options":       map[string]any{"min_area_ha": 0.2, "mask_buffer": 5, "max_scenes": 8, "max_cloud": 90, "min_clear": 1},
			"proj:epsg":                 32635, "proj:shape": []int{300, 300}}}
	writeJSON(t, filepath.Join(runDir, "item.json"), item)
	poly := func(q rect) map[string]any {
		return map[string]any{"type": "MultiPolygon", "coordinates": [][][][2]float64{{q.ring(t)}}}
	}
	km := func(v float64) *float64 { return &v }
	runs := []string{"2024-01_2024-01", "2024-02_2024-02", fixRun}
	ledger := map[string]any{"aoi_id": fixAOI, "updated": "2024-04-02T06:00:00Z", "runs": runs,
		"incidents": []map[string]any{
			{"incident_id": "inc-muchacha-a", "class": "vegetation_to_bare", "status": "new", "first_seen": "2024-03-09", "last_seen": "2024-03-24",
				"area_ha": 6.0, "runs_seen": 1, "max_confidence": 0.91, "runs": []string{fixRun}, "area_by_run": map[string]float64{fixRun: 6},
				"protected_area": "Okapi Wildlife Reserve", "mine_name": "Muchacha", "mine_mineral": "gold", "mine_workers": 120,
				"mine_visit_date": "2015-06-01", "mine_distance_km": km(0.4), "geometry": poly(scarA)},
			{"incident_id": "inc-muchacha-b", "class": "vegetation_to_water", "status": "growing", "first_seen": "2024-01-12", "last_seen": "2024-03-24",
				"area_ha": 4.0, "runs_seen": 2, "max_confidence": 0.78, "runs": []string{"2024-01_2024-01", fixRun},
				"area_by_run": map[string]float64{"2024-01_2024-01": 2, fixRun: 4}, "protected_area": "Okapi Wildlife Reserve",
				"mine_name": "Muchacha", "mine_mineral": "gold", "mine_distance_km": km(1.9), "geometry": poly(pondBNow)},
			{"incident_id": "inc-muchacha-c", "class": "burn_scar", "status": "quiet", "first_seen": "2024-01-20", "last_seen": "2024-01-20",
				"area_ha": 4.0, "runs_seen": 1, "max_confidence": 0.55, "runs": []string{"2024-01_2024-01"},
				"area_by_run": map[string]float64{"2024-01_2024-01": 4}, "mine_distance_km": nil, "geometry": poly(burnC)},
		}}
	return writeJSON(t, filepath.Join(out, fixAOI, "ledger.json"), ledger)
}

func writeJSON(t testing.TB, path string, v any) []byte {
	t.Helper()
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(fmt.Errorf("fixture: %w", err))
	}
	return data
}
