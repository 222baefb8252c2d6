package notify

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/notify/alert"
	"github.com/changewatch/changewatch/notify/email"
	"github.com/changewatch/changewatch/notify/evidence"
	"github.com/changewatch/changewatch/notify/report"
)

// item is what the reports read from a run's STAC item.
type item struct {
	ID         string    `json:"id"`
	BBox       []float64 `json:"bbox"`
	Properties struct {
		AOIName      string         `json:"changewatch:aoi_name"`
		Before       string         `json:"changewatch:before"`
		After        string         `json:"changewatch:after"`
		ScenesBefore []string       `json:"changewatch:scenes_before"`
		ScenesAfter  []string       `json:"changewatch:scenes_after"`
		Options      map[string]any `json:"changewatch:options"`
		EPSG         int            `json:"proj:epsg"`
		Shape        []int          `json:"proj:shape"`
	} `json:"properties"`
}

// readItem reads the run's item.json; a missing or unreadable item gives an empty one
// (the reports then say less about provenance).
func readItem(ctx context.Context, r *root, aoiID, run string) *item {
	var it item
	if data, err := r.get(ctx, aoiID+"/"+run+"/item.json"); err == nil && len(data) < 8<<20 {
		json.Unmarshal(data, &it)
	}
	return &it
}

func (it *item) aoiName(aoiID string) string {
	if it.Properties.AOIName != "" {
		return it.Properties.AOIName
	}
	return aoiID
}

// link is the URL of a run's file for people.
func (h *Handler) link(r *root, aoiID, run, name string) string {
	return h.href(r, aoiID+"/"+run+"/"+name)
}

// href is the URL of the file rel (relative to the output root) for people.
func (h *Handler) href(r *root, rel string) string {
	if h.LinkBase != "" {
		return strings.TrimSuffix(h.LinkBase, "/") + "/" + rel
	}
	if r.store != nil {
		return r.location(rel)
	}
	return "file://" + r.location(rel)
}

func chipName(id, which string) string { return "chips/" + id + "_" + which + ".png" }

// highlighted returns the incidents that are new or grew in run, largest first, at
// most n.
func highlighted(l *alert.Ledger, run string, n int) []*alert.Incident {
	var out []*alert.Incident
	for i := range l.Incidents {
		inc := &l.Incidents[i]
		if !inc.SeenIn(run) || inc.Status == "rejected" || inc.MergedInto != "" {
			continue
		}
		if ha, _, ok := inc.Growth(run); inc.NewIn(run) || ok && ha > 0 {
			out = append(out, inc)
		}
	}
	slices.SortStableFunc(out, func(a, b *alert.Incident) int { return cmp.Compare(b.AreaIn(run), a.AreaIn(run)) })
	return out[:min(len(out), n)]
}

// writeReports renders the chips of the run's new and growing incidents, the map and
// the reports, and writes them beside the run's results.
func (h *Handler) writeReports(ctx context.Context, r *root, l *alert.Ledger, it *item, req jobs.NotifyRunRequest) error {
	run := req.Run
	dir := req.AOIID + "/" + run + "/"
	geoms := map[string]evidence.Shape{}
	var all []evidence.Shape
	for i := range l.Incidents {
		inc := &l.Incidents[i]
		if !inc.SeenIn(run) || inc.Geometry == nil {
			continue
		}
		mp, err := evidence.ParseGeometry(*inc.Geometry)
		if err != nil {
			continue
		}
		s := evidence.Shape{Geometry: mp, Color: evidence.ColorOther, Width: 1.5}
		if inc.NewIn(run) {
			s.Color, s.Width = evidence.ColorNew, 2.5
		} else if ha, _, ok := inc.Growth(run); ok && ha > 0 {
			s.Color, s.Width = evidence.ColorGrowing, 2.5
		}
		geoms[inc.ID] = s
		all = append(all, s)
	}
	// Others first, so the new and growing outlines are drawn on top.
	slices.SortStableFunc(all, func(a, b evidence.Shape) int { return cmp.Compare(a.Width, b.Width) })
	before, after := r.location(dir+"before_rgb.tif"), r.location(dir+"after_rgb.tif")
	rep := &report.Report{AOIID: req.AOIID, AOIName: it.aoiName(req.AOIID), Run: run,
		Before: it.Properties.Before, After: it.Properties.After, LedgerUpdated: l.Updated, Classes: alert.Classes}

	chips := map[string][2]*report.Picture{}
	for _, inc := range highlighted(l, run, MaxChips) {
		s, ok := geoms[inc.ID]
		if !ok {
			continue
		}
		box := evidence.ChipBox(s.Geometry, 600)
		var pics [2]*report.Picture
		for k, src := range []string{before, after} {
			pic, err := evidence.Render(ctx, src, box, 320, []evidence.Shape{s})
			if err != nil {
				return fmt.Errorf("chip of %s: %w", inc.ID, err)
			}
			if err := r.put(ctx, dir+chipName(inc.ID, []string{"before", "after"}[k]), pic.PNG, "image/png"); err != nil {
				return fmt.Errorf("chip of %s: %w", inc.ID, err)
			}
			pics[k] = toReport(pic)
		}
		chips[inc.ID] = pics
	}
	box, ok := mapBox(it, all)
	if ok {
		pic, err := evidence.Render(ctx, after, box, 1400, all)
		if err != nil {
			return fmt.Errorf("map: %w", err)
		}
		rep.Map = toReport(pic)
	}
	rep.Incidents = rows(l, run, chips)
	rep.Totals = totals(l)
	rep.Provenance = provenance(it)
	for _, name := range []string{"report.pdf", "report.html", "changes.gpkg", "changes.geojson", "after_rgb.tif", "before_rgb.tif", "item.json"} {
		rep.Files = append(rep.Files, report.Link{Name: name, Href: h.link(r, req.AOIID, run, name)})
	}
	rep.Files = append(rep.Files, report.Link{Name: "ledger.json", Href: h.href(r, req.AOIID+"/ledger.json")})
	html, err := report.HTML(rep)
	if err != nil {
		return err
	}
	pdf, err := report.PDF(rep)
	if err != nil {
		return err
	}
	if err := r.put(ctx, dir+"report.html", html, "text/html; charset=utf-8"); err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	if err := r.put(ctx, dir+"report.pdf", pdf, "application/pdf"); err != nil {
		return fmt.Errorf("report.pdf: %w", err)
	}
	return nil
}

func toReport(p *evidence.Picture) *report.Picture {
	return &report.Picture{PNG: p.PNG, Width: p.Width, Height: p.Height, MetresPerPixel: p.MetresPerPixel, Imagery: p.Imagery}
}

// mapBox is the AOI's box from the item, else the box of the outlines with a margin.
func mapBox(it *item, shapes []evidence.Shape) ([4]float64, bool) {
	if len(it.BBox) == 4 && it.BBox[2] > it.BBox[0] && it.BBox[3] > it.BBox[1] {
		return [4]float64{it.BBox[0], it.BBox[1], it.BBox[2], it.BBox[3]}, true
	}
	if len(shapes) == 0 {
		return [4]float64{}, false
	}
	b := shapes[0].Geometry.Bound()
	for _, s := range shapes[1:] {
		b = b.Union(s.Geometry.Bound())
	}
	dx, dy := max(b.Max[0]-b.Min[0], 0.005)*0.2, max(b.Max[1]-b.Min[1], 0.005)*0.2
	return [4]float64{b.Min[0] - dx, b.Min[1] - dy, b.Max[0] + dx, b.Max[1] + dy}, true
}

// rows is the incident table: the run's new and growing incidents first (largest
// first), then the others seen in the run, then the rest, by id.
func rows(l *alert.Ledger, run string, chips map[string][2]*report.Picture) []report.Row {
	out := make([]report.Row, 0, len(l.Incidents))
	for i := range l.Incidents {
		inc := &l.Incidents[i]
		row := report.Row{ID: inc.ID, Class: inc.Class, Status: inc.Status, AreaHa: inc.AreaHa, FirstSeen: inc.FirstSeen,
			Reserve: inc.ProtectedArea, MineKm: inc.MineDistanceKm, Confidence: inc.MaxConfidence, InRun: inc.SeenIn(run)}
		if inc.MergedInto != "" {
			row.Status += " (into " + inc.MergedInto + ")"
		}
		if inc.MineName != "" {
			row.Mine = inc.MineName
			if inc.MineMineral != "" {
				row.Mine += " (" + inc.MineMineral + ")"
			}
		}
		if row.InRun && inc.Status != "rejected" && inc.MergedInto == "" {
			row.New = inc.NewIn(run)
			if ha, _, ok := inc.Growth(run); ok && ha > 0 && !row.New {
				row.GrowthHa = ha
			}
		}
		if c, ok := chips[inc.ID]; ok {
			row.Before, row.After = c[0], c[1]
		}
		out = append(out, row)
	}
	rank := func(r *report.Row) int {
		switch {
		case r.Highlight():
			return 0
		case r.InRun:
			return 1
		}
		return 2
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		if a.AreaHa != b.AreaHa {
			return a.AreaHa > b.AreaHa
		}
		return a.ID < b.ID
	})
	return out
}

// totals sums the ledger's mapped hectares by run and class.
func totals(l *alert.Ledger) []report.Total {
	var out []report.Total
	for _, run := range l.Runs {
		for _, c := range alert.Classes {
			t := report.Total{Run: run, Class: c}
			for i := range l.Incidents {
				inc := &l.Incidents[i]
				if inc.Class == c && inc.SeenIn(run) {
					t.Hectares += inc.AreaIn(run)
					t.Count++
				}
			}
			out = append(out, t)
		}
	}
	return out
}

func provenance(it *item) report.Provenance {
	p := report.Provenance{ScenesBefore: it.Properties.ScenesBefore, ScenesAfter: it.Properties.ScenesAfter, Item: it.ID}
	keys := make([]string, 0, len(it.Properties.Options))
	for k := range it.Properties.Options {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p.Options = append(p.Options, report.KV{Key: k, Value: fmt.Sprint(it.Properties.Options[k])})
	}
	p.Options = append([]report.KV{{Key: "before period", Value: it.Properties.Before}, {Key: "after period", Value: it.Properties.After}}, p.Options...)
	if it.Properties.EPSG != 0 && len(it.Properties.Shape) == 2 {
		p.Grid = fmt.Sprintf("EPSG:%d, 10 m, %d x %d pixels", it.Properties.EPSG, it.Properties.Shape[1], it.Properties.Shape[0])
	}
	return p
}

// Alert is the JSON body of a webhook.
type Alert struct {
	Type           string            `json:"type"` // "changewatch.alert"
	Version        int               `json:"version"`
	IdempotencyKey string            `json:"idempotency_key"`
	AOI            AlertAOI          `json:"aoi"`
	Run            string            `json:"run"`
	Before         string            `json:"before"`
	After          string            `json:"after"`
	Subscription   string            `json:"subscription"`
	Rule           string            `json:"rule"`
	Incidents      []AlertIncident   `json:"incidents"`
	Links          map[string]string `json:"links"`
}

// AlertAOI names the AOI.
type AlertAOI struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AlertIncident is a triggering incident: its ledger attributes, why it triggered, and
// links to its chips.
type AlertIncident struct {
	*alert.Incident
	Reason alert.Reason      `json:"reason"`
	Links  map[string]string `json:"links"`
}

func (h *Handler) buildAlert(ctx context.Context, r *root, l *alert.Ledger, it *item, req jobs.NotifyDeliverRequest) *Alert {
	a := &Alert{Type: "changewatch.alert", Version: 1, IdempotencyKey: req.Key, AOI: AlertAOI{ID: req.AOIID, Name: it.aoiName(req.AOIID)},
		Run: req.Run, Before: it.Properties.Before, After: it.Properties.After, Subscription: req.Subscription, Rule: req.Rule,
		Links: map[string]string{}}
	for _, name := range []string{"report.pdf", "report.html", "changes.geojson", "item.json"} {
		a.Links[strings.NewReplacer(".", "_").Replace(name)] = h.link(r, req.AOIID, req.Run, name)
	}
	for _, id := range req.Incidents {
		inc := l.Incident(id)
		if inc == nil {
			continue
		}
		reason := alert.Reason{New: inc.NewIn(req.Run)}
		if ha, share, ok := inc.Growth(req.Run); ok && ha > 0 && !reason.New {
			reason.GrowthHa, reason.GrowthPct = round2(ha), round2(share*100)
		}
		ai := AlertIncident{Incident: inc, Reason: reason, Links: map[string]string{}}
		for _, which := range []string{"before", "after"} {
			if ok, _ := r.exists(ctx, req.AOIID+"/"+req.Run+"/"+chipName(id, which)); ok {
				ai.Links[which+"_chip"] = h.link(r, req.AOIID, req.Run, chipName(id, which))
			}
		}
		a.Incidents = append(a.Incidents, ai)
	}
	return a
}

func round2(v float64) float64 { return float64(int64(v*100+0.5*sign(v))) / 100 }

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

// Summary is "2 new incidents, 1 growing".
func (a *Alert) Summary() string {
	n, g := 0, 0
	for _, x := range a.Incidents {
		if x.Reason.New {
			n++
		} else {
			g++
		}
	}
	var parts []string
	if n > 0 {
		parts = append(parts, plural(n, "new incident"))
	}
	if g > 0 {
		parts = append(parts, plural(g, "growing incident"))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, s string) string {
	if n == 1 {
		return "1 " + s
	}
	return fmt.Sprintf("%d %ss", n, s)
}

// digest composes the e-mail of a delivery: text and HTML, the chips inline.
func (h *Handler) digest(ctx context.Context, r *root, a *Alert, req jobs.NotifyDeliverRequest) (*email.Message, error) {
	msg := &email.Message{From: h.Mail.From, To: req.Channel.To, MessageID: req.Key + "@changewatch",
		Subject: fmt.Sprintf("[changewatch] %s: %s (%s)", a.AOI.Name, a.Summary(), report.Month(a.Run)),
		Date:    time.Now(), Headers: map[string]string{"X-Changewatch-Key": req.Key, "X-Changewatch-AOI": a.AOI.ID, "X-Changewatch-Run": a.Run}}
	var text strings.Builder
	fmt.Fprintf(&text, "%s (%s), run %s: %s.\nRule %q of subscription %q.\n\n", a.AOI.Name, a.AOI.ID, report.Month(a.Run), a.Summary(), a.Rule, a.Subscription)
	type view struct {
		AlertIncident
		What, Mine, BeforeCID, AfterCID string
	}
	var views []view
	for i, x := range a.Incidents {
		v := view{AlertIncident: x, What: "new"}
		if !x.Reason.New {
			v.What = fmt.Sprintf("grew +%.2f ha (%.0f %%)", x.Reason.GrowthHa, x.Reason.GrowthPct)
		}
		v.Mine = "-"
		if x.MineName != "" && x.MineDistanceKm != nil {
			v.Mine = fmt.Sprintf("%s, %.1f km", x.MineName, *x.MineDistanceKm)
		}
		fmt.Fprintf(&text, "- %s (%s): %s, %.2f ha, first seen %s, confidence %.2f, reserve %s, nearest mine %s\n",
			x.ID, v.What, report.ClassLabel(x.Class), x.AreaHa, x.FirstSeen, x.MaxConfidence, cmp.Or(x.ProtectedArea, "-"), v.Mine)
		if i < MaxMailChips {
			for _, which := range []string{"before", "after"} {
				data, err := r.get(ctx, req.AOIID+"/"+req.Run+"/"+chipName(x.ID, which))
				if err != nil {
					continue
				}
				cid := x.ID + "-" + which + "@changewatch"
				msg.Inline = append(msg.Inline, email.Inline{CID: cid, ContentType: "image/png", Name: x.ID + "_" + which + ".png", Data: data})
				if which == "before" {
					v.BeforeCID = cid
				} else {
					v.AfterCID = cid
				}
			}
		}
		views = append(views, v)
	}
	fmt.Fprintf(&text, "\nReport: %s\nReport (HTML): %s\nPolygons: %s\n", a.Links["report_pdf"], a.Links["report_html"], a.Links["changes_geojson"])
	msg.Text = text.String()
	var hb bytes.Buffer
	err := digestHTML.Execute(&hb, map[string]any{"A": a, "Incidents": views, "Month": report.Month(a.Run), "Summary": a.Summary()})
	if err != nil {
		return nil, fmt.Errorf("e-mail html: %w", err)
	}
	msg.HTML = hb.String()
	return msg, nil
}

var digestHTML = template.Must(template.New("digest").Funcs(template.FuncMap{"class": report.ClassLabel,
	"cid": func(s string) template.URL { return template.URL("cid:" + s) }}).Parse(`<!doctype html><html><body style="font-family:sans-serif;color:#1d2433">
<h2 style="margin-bottom:0">{{.A.AOI.Name}}: {{.Summary}}</h2>
<p style="color:#555;margin-top:4px">Run {{.Month}} ({{.A.After}} against {{.A.Before}}). Rule <b>{{.A.Rule}}</b> of subscription <b>{{.A.Subscription}}</b>.</p>
{{range .Incidents}}<div style="margin:18px 0;padding:10px;border:1px solid #dde">
<p style="margin:0 0 6px"><b>{{.ID}}</b> ({{.What}}): {{class .Class}}, {{printf "%.2f" .AreaHa}} ha, first seen {{.FirstSeen}}, confidence {{printf "%.2f" .MaxConfidence}}{{if .ProtectedArea}}, inside {{.ProtectedArea}}{{end}}; nearest mine {{.Mine}}.</p>
{{if .BeforeCID}}<table><tr><td><img src="{{cid .BeforeCID}}" width="280" alt="before"><br><small>before</small></td>{{if .AfterCID}}<td><img src="{{cid .AfterCID}}" width="280" alt="after"><br><small>after</small></td>{{end}}</tr></table>{{end}}
</div>{{end}}
<p><a href="{{.A.Links.report_pdf}}">Report (PDF)</a> · <a href="{{.A.Links.report_html}}">Report (HTML)</a> · <a href="{{.A.Links.changes_geojson}}">Polygons (GeoJSON)</a></p>
</body></html>`))
