package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/changewatch/changewatch/aoi"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/watch"
)

// submitBody is a request for one AOI's change between two periods.
type submitBody struct {
	AOIID   string          `json:"aoi_id,omitempty"` // an uploaded (or published) AOI
	AOI     json.RawMessage `json:"aoi,omitempty"`    // or the GeoJSON inline
	Before  string          `json:"before,omitempty"` // YYYY-MM-DD/YYYY-MM-DD; default the after months a year earlier
	After   string          `json:"after,omitempty"`  // default the last full month
	Options jobs.Options    `json:"options"`
	Queue   string          `json:"queue,omitempty"` // adhoc (default), monthly or backfill
}

// TaskView is a task as the API shows it.
type TaskView struct {
	ID        string          `json:"id"`
	Queue     string          `json:"queue"`
	Type      string          `json:"type"`
	State     string          `json:"state"`
	AOIID     string          `json:"aoi_id,omitempty"`
	Stage     string          `json:"stage,omitempty"`
	Percent   float64         `json:"percent"`
	Summary   json.RawMessage `json:"summary,omitempty"`
	Failure   string          `json:"failure_reason,omitempty"`
	Retried   int             `json:"retried"`
	MaxRetry  int             `json:"max_retry"`
	Completed *time.Time      `json:"completed_at,omitempty"`
	Duplicate bool            `json:"duplicate,omitempty"`
	Links     []link          `json:"links"`
}

func taskView(t *asynq.TaskInfo) TaskView {
	v := TaskView{ID: t.ID, Queue: t.Queue, Type: t.Type, State: t.State.String(), Retried: t.Retried, MaxRetry: t.MaxRetry,
		Links: []link{{Href: "/api/v1/requests/" + t.ID, Rel: "self", Type: "application/json"}}}
	if f := strings.Split(t.ID, ":"); len(f) >= 2 && f[0] == "detect" {
		v.AOIID = f[1]
	}
	if t.State == asynq.TaskStateArchived || t.State == asynq.TaskStateRetry {
		v.Failure = t.LastErr
	}
	if !t.CompletedAt.IsZero() {
		c := t.CompletedAt.UTC()
		v.Completed = &c
	}
	if json.Valid(t.Result) && len(t.Result) > 0 {
		var p jobs.Progress
		var probe map[string]json.RawMessage
		json.Unmarshal(t.Result, &probe)
		if _, isSummary := probe["aoi_id"]; isSummary || t.State == asynq.TaskStateCompleted {
			v.Summary, v.Percent, v.Stage = t.Result, 100, "done"
		} else if json.Unmarshal(t.Result, &p) == nil {
			v.Stage, v.Percent = p.Stage, p.Percent
		}
	}
	if t.State == asynq.TaskStateCompleted {
		v.Stage, v.Percent = "done", 100
	}
	return v
}

// submit validates a request as enqueue does and queues it; the same request twice is
// one task (the task id is derived from it): the second answer says duplicate.
func (s *Server) submit(w http.ResponseWriter, r *http.Request) error {
	var b submitBody
	if err := decodeBody(w, r, s.cfg.MaxUpload, &b); err != nil {
		return err
	}
	ctx := r.Context()
	var data []byte
	switch {
	case len(b.AOI) > 0 && b.AOIID != "":
		return errorf(http.StatusUnprocessableEntity, "aoi, aoi_id: give one of them")
	case len(b.AOI) > 0:
		data = b.AOI
	case b.AOIID != "":
		if err := checkID("aoi_id", b.AOIID); err != nil {
			return err
		}
		var err error
		if data, err = s.aoiGeoJSON(ctx, b.AOIID); err != nil {
			return err
		}
	default:
		return errorf(http.StatusUnprocessableEntity, "aoi_id: missing (or give the GeoJSON as aoi)")
	}
	area, err := aoi.Parse(data, s.cfg.AOILimits)
	if err != nil {
		return err
	}
	if b.AOIID != "" {
		area.ID = b.AOIID
	}
	if err := checkID("aoi.properties.id", area.ID); err != nil {
		return err
	}
	before, after := jobs.MonthlyPeriods(s.cfg.Now())
	if b.After != "" {
		if after, err = jobs.ParsePeriod(b.After); err != nil {
			return errorf(http.StatusUnprocessableEntity, "after: %v", err)
		}
		before = jobs.Period{Start: after.Start.AddDate(-1, 0, 0), End: after.End.AddDate(-1, 0, 0)}
	}
	if b.Before != "" {
		if before, err = jobs.ParsePeriod(b.Before); err != nil {
			return errorf(http.StatusUnprocessableEntity, "before: %v", err)
		}
	}
	req := watch.RequestFor(area, data, before, after, s.cfg.Catalog, s.cfg.Output)
	req.Options = b.Options
	task, err := jobs.NewDetectTask(req, b.Queue)
	if err != nil {
		return err
	}
	id := req.TaskID()
	info, err := s.client.EnqueueContext(ctx, task)
	dup := errors.Is(err, asynq.ErrTaskIDConflict)
	if err != nil && !dup {
		return err
	}
	queue := b.Queue
	if queue == "" {
		queue = jobs.QueueAdhoc
	}
	if dup {
		info, err = s.ins.GetTaskInfo(queue, id)
		if err != nil {
			return writeJSON(w, http.StatusOK, TaskView{ID: id, Queue: queue, Type: jobs.TypeDetectChange, AOIID: area.ID, Duplicate: true,
				Links: []link{{Href: "/api/v1/requests/" + id, Rel: "self"}}})
		}
	}
	if err := s.audit(ctx, "request.submit", area.ID, map[string]any{"task_id": id, "before": before.String(), "after": after.String(), "duplicate": dup}); err != nil {
		return err
	}
	v := taskView(info)
	v.Duplicate = dup
	w.Header().Set("Location", "/api/v1/requests/"+id)
	code := http.StatusAccepted
	if dup {
		code = http.StatusOK
	}
	return writeJSON(w, code, v)
}

// getRequest follows one task through asynq's Inspector.
func (s *Server) getRequest(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("task")
	if len(id) > 300 {
		return errorf(http.StatusNotFound, "task not found")
	}
	for _, q := range queues() {
		t, err := s.ins.GetTaskInfo(q, id)
		if err == nil {
			return writeJSON(w, http.StatusOK, taskView(t))
		}
	}
	return errorf(http.StatusNotFound, "task %q not found in queues %s", id, strings.Join(queues(), ", "))
}

func queues() []string {
	qs := make([]string, 0, len(jobs.QueuePriorities))
	for q := range jobs.QueuePriorities {
		qs = append(qs, q)
	}
	sort.Strings(qs)
	return qs
}

// maxListed bounds the tasks a listing reads per queue and state.
const maxListed = 500

// listRequests lists the detection tasks of every queue and state, newest first, of one
// AOI when ?aoi= is given.
func (s *Server) listRequests(w http.ResponseWriter, r *http.Request) error {
	aoiID := r.URL.Query().Get("aoi")
	if aoiID != "" {
		if err := checkID("aoi", aoiID); err != nil {
			return err
		}
	}
	var out []TaskView
	for _, q := range queues() {
		lists := []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
			s.ins.ListActiveTasks, s.ins.ListPendingTasks, s.ins.ListScheduledTasks, s.ins.ListRetryTasks,
			s.ins.ListArchivedTasks, s.ins.ListCompletedTasks}
		for _, list := range lists {
			ts, err := list(q, asynq.PageSize(maxListed))
			if err != nil {
				if errors.Is(err, asynq.ErrQueueNotFound) {
					break
				}
				return err
			}
			for _, t := range ts {
				if t.Type != jobs.TypeDetectChange {
					continue
				}
				v := taskView(t)
				if aoiID == "" || v.AOIID == aoiID {
					out = append(out, v)
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	if out == nil {
		out = []TaskView{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"requests": out})
}

// getTile draws one map tile of a run's before or after composite or change classes.
func (s *Server) getTile(w http.ResponseWriter, r *http.Request) error {
	v, err := s.runVisible(r)
	if err != nil {
		return err
	}
	file, kind := "", raster.TileRGB
	switch r.PathValue("layer") {
	case "before":
		file = "before_rgb.tif"
	case "after":
		file = "after_rgb.tif"
	case "change":
		file, kind = "change_class.tif", raster.TileClass
	default:
		return errorf(http.StatusNotFound, "layer %q: want before, after or change", r.PathValue("layer"))
	}
	found := false
	for _, f := range v.Files {
		found = found || f.Name == file
	}
	if !found {
		return errorf(http.StatusNotFound, "run %s has no %s", v.Run, file)
	}
	z, e1 := strconv.Atoi(r.PathValue("z"))
	x, e2 := strconv.Atoi(r.PathValue("x"))
	y, e3 := strconv.Atoi(strings.TrimSuffix(r.PathValue("y"), ".png"))
	if e1 != nil || e2 != nil || e3 != nil || z < 0 || z > 22 || x < 0 || y < 0 || x >= 1<<z || y >= 1<<z {
		return errorf(http.StatusBadRequest, "tile: want /z/x/y.png with 0 <= z <= 22 and x, y inside the zoom level")
	}
	png, err := raster.RenderTile(r.Context(), s.cfg.Store.Location(path.Join(v.AOIID, v.Run, file)), kind, z, x, y)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, err = w.Write(png)
	return err
}

// getChip draws the run's before or after composite over a lon/lat box (an incident's
// surroundings), at most 256 pixels across.
func (s *Server) getChip(w http.ResponseWriter, r *http.Request) error {
	v, err := s.runVisible(r)
	if err != nil {
		return err
	}
	file := map[string]string{"before.png": "before_rgb.tif", "after.png": "after_rgb.tif"}[r.PathValue("layer")]
	if file == "" {
		return errorf(http.StatusNotFound, "chip %q: want before.png or after.png", r.PathValue("layer"))
	}
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		return err
	}
	if f.bbox == nil {
		return errorf(http.StatusBadRequest, "bbox: required (minlon,minlat,maxlon,maxlat)")
	}
	if b := f.bbox; b.Max[0]-b.Min[0] > 1 || b.Max[1]-b.Min[1] > 1 {
		return errorf(http.StatusBadRequest, "bbox: at most 1 degree across")
	}
	win, err := raster.ReadRGB(r.Context(), s.cfg.Store.Location(path.Join(v.AOIID, v.Run, file)),
		[4]float64{f.bbox.Min[0], f.bbox.Min[1], f.bbox.Max[0], f.bbox.Max[1]}, 256)
	if err != nil {
		return errorf(http.StatusNotFound, "chip: %v", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, win.Image); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, err = w.Write(buf.Bytes())
	return err
}
