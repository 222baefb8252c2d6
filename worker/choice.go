package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
)

// Kept baseline choices. A monthly run's baseline is a year of scenes, and consecutive
// months see windows that differ by one month at each end. So that the next runs read only
// their month, the scenes a baseline is made of are chosen once and kept with the AOI's
// kept composites (<out>/<aoi id>/.baseline/choice.json), and a later run of the AOI uses
// the same scenes, and so the same kept composites, for as long as they serve: every one
// still inside its baseline period, each still in the catalog as it was (same tiles, bands
// and scaling), and the same AOI, grid and scene options. Otherwise the run ranks its
// period's scenes anew (preferring the most recent months that suffice, so the new choice
// serves the most months: see recentSpan) and keeps its choice for the runs after it.
//
// The file is untrusted like the rest of the bucket: it is bounded in size, must name this
// AOI's key, and is only a proposal checked against the catalog's own items; a file that
// fails any check is ignored (logged) and replaced by the next choice.

// choiceName is the kept choice's name in an AOI's kept baseline folder.
const choiceName = "choice.json"

// maxChoiceBytes bounds a kept choice file (a few scenes' hrefs).
const maxChoiceBytes = 1 << 20

// choiceVersion is the format of the kept choice file.
const choiceVersion = 1

// keptChoice is an AOI's kept choice of baseline scenes.
type keptChoice struct {
	Version int `json:"version"`
	// Key is a hash of what makes a choice valid for a run besides its period: the AOI's
	// geometry and grid and the options that choose scenes.
	Key string `json:"key"`
	// Period is the baseline period it was chosen in, ChosenAt when (information only).
	Period   jobs.Period    `json:"period"`
	ChosenAt time.Time      `json:"chosen_at"`
	Scenes   []raster.Scene `json:"scenes"`
}

// choiceKey is the key of pl's choices: geometry, grid and the scene options.
func choiceKey(pl *plan) string {
	o := pl.opts
	parts, _ := json.Marshal(struct {
		Version   int
		AOI       any
		Grid      raster.Grid
		NoMask    bool
		MaxCloud  float64
		MaxScenes int
		MinClear  int
	}{choiceVersion, pl.area.Geometry, pl.grid, o.NoMask, o.MaxCloud, o.MaxScenes, o.MinClear})
	sum := sha256.Sum256(parts)
	return hex.EncodeToString(sum[:])
}

// choiceStore is where the kept choice of a run to output lives (nil: the run keeps no
// baseline, an output outside the ledger layout).
func (p *Pipeline) choiceStore(output string) keptStore {
	folder, ok := keptFolder(output)
	if !ok || p.KeptBaselines < 0 {
		return nil
	}
	return p.keptStore(folder, "")
}

// keptStore returns the store of sub (empty: the folder itself) of a kept baseline
// folder, or nil when it is in a bucket and no object storage is configured.
func (p *Pipeline) keptStore(folder, sub string) keptStore {
	if strings.HasPrefix(folder, "s3://") {
		if p.Store == nil {
			return nil
		}
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(folder, "s3://"), "/")
		return &s3Workspace{store: p.Store, bucket: bucket, prefix: strings.TrimPrefix(path.Join(prefix, sub)+"/", "/")}
	}
	return &dirWorkspace{dir: filepath.Join(folder, sub)}
}

// loadChoice returns the kept choice of the run to output when there is one for pl's key,
// else nil (none, unreadable or another AOI's: logged).
func (p *Pipeline) loadChoice(ctx context.Context, output string, pl *plan) *keptChoice {
	st := p.choiceStore(output)
	if st == nil {
		return nil
	}
	c, err := readChoice(ctx, st, p.WorkDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil && c.Key != choiceKey(pl) {
		err = errors.New("made for another aoi geometry, grid or scene options")
	}
	if err != nil {
		p.logger().Warn("kept baseline choice ignored", "aoi_id", pl.area.ID, "err", err)
		return nil
	}
	return c
}

// readChoice reads and checks the kept choice file of st.
func readChoice(ctx context.Context, st keptStore, workDir string) (*keptChoice, error) {
	name := st.local(choiceName)
	if name == "" {
		f, err := os.CreateTemp(workDir, "changewatch-choice-*.json")
		if err != nil {
			return nil, err
		}
		f.Close()
		defer os.Remove(f.Name())
		if err := st.get(ctx, choiceName, f.Name()); err != nil {
			return nil, err
		}
		name = f.Name()
	}
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxChoiceBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", choiceName, fi.Size(), maxChoiceBytes)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var c keptChoice
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", choiceName, err)
	}
	switch {
	case c.Version != choiceVersion:
		return nil, fmt.Errorf("%s: version %d, want %d", choiceName, c.Version, choiceVersion)
	case len(c.Scenes) == 0 || len(c.Scenes) > raster.MaxScenesPerPeriod:
		return nil, fmt.Errorf("%s: %d scenes, want 1 to %d", choiceName, len(c.Scenes), raster.MaxScenesPerPeriod)
	}
	return &c, nil
}

// keepChoice, after the run to output was published, keeps its baseline scenes
// (pl.before, chosen in period per) as the AOI's choice unless they are the kept choice
// already (a failure is logged: the run does not depend on it).
func (p *Pipeline) keepChoice(ctx context.Context, output string, pl *plan, per jobs.Period) {
	st := p.choiceStore(output)
	if st == nil || len(pl.before) == 0 {
		return
	}
	if c := p.loadChoice(ctx, output, pl); c != nil && sameScenes(c.Scenes, pl.before) {
		return
	}
	scenes := pl.before
	data, err := json.MarshalIndent(keptChoice{Version: choiceVersion, Key: choiceKey(pl), Period: per,
		ChosenAt: time.Now().UTC().Truncate(time.Second), Scenes: scenes}, "", " ")
	if err == nil {
		err = st.write(ctx, choiceName, data)
	}
	if err != nil {
		p.logger().Warn("kept baseline choice: not kept", "aoi_id", pl.area.ID, "err", err)
		return
	}
	p.logger().Info("baseline scenes kept for the next runs", "aoi_id", pl.area.ID, "scenes", sceneIDs(scenes))
}

// reuse returns the catalog's scenes of the kept choice when it serves period per: every
// kept scene is one of the period's acquisitions (found), identical to it (the same tiles,
// bands, scaling and items) and dated inside the period. Else it returns nil and why.
func (c *keptChoice) reuse(per jobs.Period, found []raster.Scene) ([]raster.Scene, string) {
	byID := make(map[string]raster.Scene, len(found))
	for _, s := range found {
		byID[s.ID] = s
	}
	out := make([]raster.Scene, 0, len(c.Scenes))
	for _, k := range c.Scenes {
		s, ok := byID[k.ID]
		switch {
		case !ok:
			return nil, fmt.Sprintf("scene %s is not in the period's catalog search", k.ID)
		case s.Date.Before(per.Start) || s.Date.After(per.Last()):
			return nil, fmt.Sprintf("scene %s of %s is outside the period", k.ID, s.Date.Format(time.DateOnly))
		case !sameScene(s, k):
			return nil, fmt.Sprintf("scene %s has changed in the catalog", k.ID)
		}
		out = append(out, s)
	}
	return out, ""
}

// sameScenes tells whether a and b are the same scenes in the same order.
func sameScenes(a, b []raster.Scene) bool {
	return slices.EqualFunc(a, b, func(x, y raster.Scene) bool { return x.ID == y.ID && sameScene(x, y) })
}

// sameScene tells whether a and b read the same data: date, tiles, bands, scaling, items.
func sameScene(a, b raster.Scene) bool {
	return a.Date.Equal(b.Date) && a.DNOffset == b.DNOffset && a.Scale == b.Scale &&
		reflect.DeepEqual(a.Hrefs, b.Hrefs) && equalTiles(a.More, b.More) && reflect.DeepEqual(nonNil(a.Items), nonNil(b.Items))
}

func equalTiles(a, b []map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
