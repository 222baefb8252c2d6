package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
)

// HTML renders the report as one self-contained page (images as data: URIs), readable
// offline and printable.
func HTML(r *Report) ([]byte, error) {
	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, r); err != nil {
		return nil, fmt.Errorf("report.html: %w", err)
	}
	return b.Bytes(), nil
}

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"img": func(p *Picture) template.URL {
		return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(p.PNG))
	},
	"month": Month,
	"class": ClassLabel,
	"ha":    func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"pct":   func(v float64) string { return fmt.Sprintf("%.0f %%", v*100) },
	"counts": func(r *Report) string {
		n, g, nha, gha := r.Counts()
		return fmt.Sprintf("%d new incident(s), %.2f ha; %d growing, +%.2f ha", n, nha, g, gha)
	},
	"scale": func(p *Picture) map[string]any {
		_, px, label := ScaleBar(p.MetresPerPixel, float64(p.Width)/4)
		return map[string]any{"Pct": 100 * px / float64(p.Width), "Label": label}
	},
	"totals": func(r *Report) []map[string]any {
		runs, ha, n := r.TotalsTable()
		var out []map[string]any
		for i, run := range runs {
			var cells []string
			for j := range r.Classes {
				cells = append(cells, fmt.Sprintf("%.2f ha (%d)", ha[i][j], n[i][j]))
			}
			out = append(out, map[string]any{"Run": Month(run), "Cells": cells})
		}
		return out
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>changewatch report: {{.AOIName}} ({{.AOIID}}), {{month .Run}}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1d2433}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ccd;padding-bottom:.2em}
.meta{color:#555}table{border-collapse:collapse;width:100%;font-size:.92em}th,td{border-bottom:1px solid #dde;padding:.3em .45em;text-align:left;vertical-align:top}
th{background:#f1f3f8}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.hl td{background:#fff4f9}
.map{position:relative;display:inline-block;max-width:100%}.map img{max-width:100%;display:block;border:1px solid #999}
.north{position:absolute;top:10px;right:10px;width:38px;background:rgba(255,255,255,.85);border-radius:4px;padding:3px}
.bar{position:absolute;left:12px;bottom:12px;background:rgba(255,255,255,.85);padding:4px 6px;border-radius:4px;font-size:.85em}
.bar div{height:6px;border:2px solid #000;border-top:0}
.legend span{display:inline-block;width:1.4em;height:.7em;margin:0 .3em 0 1em;border:2px solid #000;vertical-align:middle}
.chips{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:1.2em}.chip figure{margin:0;display:inline-block;width:49%}.chip img{width:100%;border:1px solid #999}
figcaption{font-size:.85em;color:#444}.tag{font-weight:600;color:#b0006e}code{font-size:.9em}
</style></head><body>
<h1>{{.AOIName}} <small class="meta">({{.AOIID}})</small></h1>
<p class="meta">changewatch monitoring report for the run <b>{{month .Run}}</b>: after period {{.After}} against the before period {{.Before}}. Ledger as of {{.LedgerUpdated}}.</p>
<p><b>{{counts .}}</b>.</p>

<h2>Map</h2>
{{with .Map}}<div class="map"><img src="{{img .}}" alt="map of the new and growing incidents over the after composite">
<svg class="north" viewBox="0 0 40 56" aria-label="north arrow"><polygon points="20,2 34,40 20,32 6,40" fill="#000"/><text x="20" y="54" font-size="14" text-anchor="middle" font-family="sans-serif">N</text></svg>
{{with scale .}}<div class="bar" style="width:{{printf "%.2f" .Pct}}%"><div></div>{{.Label}}</div>{{end}}</div>
<p class="legend"><span style="background:none;border-color:#ff28c8"></span>new in this run<span style="border-color:#ffaa00"></span>grew in this run<span style="border-color:#fff;background:#777"></span>other incidents seen in this run
{{if not .Imagery}}<br><i>No true-colour composite is published for this run: outlines on a plain background.</i>{{else}}<br>Background: the after composite (true colour; grey: not observed).{{end}}</p>{{end}}

<h2>Incidents</h2>
<table><tr><th>id</th><th>class</th><th>hectares</th><th>first seen</th><th>reserve</th><th>nearest mine, distance</th><th>confidence</th><th>status</th><th>this run</th></tr>
{{range .Incidents}}<tr{{if .Highlight}} class="hl"{{end}}><td><code>{{.ID}}</code></td><td>{{class .Class}}</td><td class="n">{{ha .AreaHa}}</td><td>{{.FirstSeen}}</td><td>{{if .Reserve}}{{.Reserve}}{{else}}-{{end}}</td><td>{{.MineText}}</td><td class="n">{{printf "%.2f" .Confidence}}</td><td>{{.Status}}</td><td class="tag">{{.Tag}}{{if and .InRun (not .Highlight)}}<span class="meta">seen</span>{{end}}</td></tr>
{{else}}<tr><td colspan="9">No incident in the ledger.</td></tr>{{end}}</table>

<h2>Before and after</h2>
<div class="chips">{{range .Incidents}}{{if and .Highlight .After}}<div class="chip"><p><code>{{.ID}}</code> <span class="tag">{{.Tag}}</span>: {{class .Class}}, {{ha .AreaHa}} ha, confidence {{printf "%.2f" .Confidence}}{{if .Reserve}}, {{.Reserve}}{{end}}</p>
<figure><img src="{{img .Before}}" alt="{{.ID}} before"><figcaption>before</figcaption></figure>
<figure><img src="{{img .After}}" alt="{{.ID}} after"><figcaption>after</figcaption></figure></div>{{end}}{{else}}<p>No incident.</p>{{end}}</div>

<h2>Totals by month and class</h2>
<table><tr><th>run</th>{{range .Classes}}<th>{{class .}}</th>{{end}}</tr>
{{range totals .}}<tr><td>{{.Run}}</td>{{range .Cells}}<td class="n">{{.}}</td>{{end}}</tr>{{end}}</table>
<p class="meta">Hectares mapped in each run by the ledger's incidents (number of incidents in brackets).</p>

<h2>Provenance</h2>
<table>
<tr><th>scenes, before</th><td>{{range .Provenance.ScenesBefore}}<code>{{.}}</code> {{else}}-{{end}}</td></tr>
<tr><th>scenes, after</th><td>{{range .Provenance.ScenesAfter}}<code>{{.}}</code> {{else}}-{{end}}</td></tr>
{{range .Provenance.Options}}<tr><th>{{.Key}}</th><td>{{.Value}}</td></tr>{{end}}
{{with .Provenance.Grid}}<tr><th>grid</th><td>{{.}}</td></tr>{{end}}
{{with .Provenance.Item}}<tr><th>STAC item</th><td><code>{{.}}</code></td></tr>{{end}}
</table>
<h2>Files</h2><ul>{{range .Files}}<li><a href="{{.Href}}">{{.Name}}</a></li>{{end}}</ul>
</body></html>
`))
