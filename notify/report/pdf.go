package report

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// A4 portrait, millimetres.
const (
	pageW, pageH = 210.0, 297.0
	margin       = 15.0
	textW        = pageW - 2*margin
)

// PDF renders the report as an A4 PDF with the standard Helvetica fonts (text in
// Windows-1252; other characters are replaced).
func PDF(r *Report) ([]byte, error) {
	p := fpdf.New("P", "mm", "A4", "")
	tr := p.UnicodeTranslatorFromDescriptor("")
	t := func(s string) string { return tr(s) }
	title := fmt.Sprintf("changewatch report: %s (%s), %s", r.AOIName, r.AOIID, Month(r.Run))
	p.SetTitle(title, true)
	p.SetSubject("Land-cover change incidents of "+r.AOIID+", run "+r.Run, true)
	p.SetCreator("changewatch", true)
	p.SetProducer("changewatch", true)
	if ts, err := time.Parse(time.RFC3339, r.LedgerUpdated); err == nil {
		p.SetCreationDate(ts) // the same ledger gives the same file
		p.SetModificationDate(ts)
	} else {
		p.SetCreationDate(time.Unix(0, 0).UTC())
		p.SetModificationDate(time.Unix(0, 0).UTC())
	}
	p.SetMargins(margin, margin, margin)
	p.SetAutoPageBreak(true, margin+5)
	p.AliasNbPages("{nb}")
	p.SetFooterFunc(func() {
		p.SetY(-margin)
		p.SetFont("Helvetica", "", 8)
		p.SetTextColor(90, 90, 90)
		p.CellFormat(textW/2, 5, t(r.AOIName+" ("+r.AOIID+"), run "+Month(r.Run)), "", 0, "L", false, 0, "")
		p.CellFormat(textW/2, 5, fmt.Sprintf("page %d of {nb}", p.PageNo()), "", 0, "R", false, 0, "")
		p.SetTextColor(0, 0, 0)
	})
	imgN := 0
	image := func(pic *Picture, x, y, w, h float64) {
		imgN++
		name := fmt.Sprintf("img%d", imgN)
		p.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(pic.PNG))
		p.ImageOptions(name, x, y, w, h, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		p.SetDrawColor(80, 80, 80)
		p.SetLineWidth(0.2)
		p.Rect(x, y, w, h, "D")
	}
	heading := func(s string) {
		if p.GetY() > pageH-margin-40 {
			p.AddPage()
		}
		p.Ln(3)
		p.SetFont("Helvetica", "B", 13)
		p.CellFormat(textW, 8, t(s), "B", 1, "L", false, 0, "")
		p.Ln(2)
	}

	// Page 1: title, summary, map.
	p.AddPage()
	p.SetFont("Helvetica", "B", 17)
	p.MultiCell(textW, 8, t(r.AOIName+" ("+r.AOIID+")"), "", "L", false)
	p.SetFont("Helvetica", "", 10)
	p.MultiCell(textW, 5, t(fmt.Sprintf("changewatch monitoring report, run %s: after period %s against the before period %s. Ledger as of %s.",
		Month(r.Run), r.After, r.Before, r.LedgerUpdated)), "", "L", false)
	n, g, nha, gha := r.Counts()
	p.Ln(1)
	p.SetFont("Helvetica", "B", 11)
	p.MultiCell(textW, 6, t(fmt.Sprintf("%d new incident(s), %.2f ha; %d growing, +%.2f ha.", n, nha, g, gha)), "", "L", false)
	if m := r.Map; m != nil && m.Width > 0 {
		heading("Map of the new and growing incidents")
		y0 := p.GetY()
		w, h := textW, textW*float64(m.Height)/float64(m.Width)
		if maxH := pageH - y0 - margin - 30; h > maxH {
			h = maxH
			w = h * float64(m.Width) / float64(m.Height)
		}
		x0 := margin + (textW-w)/2
		image(m, x0, y0, w, h)
		northArrow(p, x0+w-12, y0+4)
		scaleBar(p, m, x0, y0, w, h)
		p.SetXY(margin, y0+h+2)
		legend(p, t, m.Imagery)
	}

	// The incidents.
	p.AddPage()
	heading("Incidents of the AOI")
	cols := []struct {
		title string
		w     float64
		align string
	}{{"id", 40, "L"}, {"change", 18, "L"}, {"ha", 11, "R"}, {"first seen", 16, "L"}, {"reserve", 28, "L"},
		{"nearest mine", 26, "L"}, {"km", 9, "R"}, {"conf.", 10, "R"}, {"status", 22, "L"}}
	header := func() {
		p.SetFont("Helvetica", "B", 8)
		p.SetFillColor(225, 229, 238)
		for _, c := range cols {
			p.CellFormat(c.w, 6, c.title, "B", 0, c.align, true, 0, "")
		}
		p.Ln(-1)
	}
	header()
	p.SetFont("Helvetica", "", 8)
	for i := range r.Incidents {
		x := &r.Incidents[i]
		if p.GetY() > pageH-margin-12 {
			p.AddPage()
			header()
			p.SetFont("Helvetica", "", 8)
		}
		status := x.Status
		if tag := x.Tag(); tag != "" {
			status = tag
		}
		reserve := x.Reserve
		if reserve == "" {
			reserve = "-"
		}
		mine, km := "-", "-"
		if x.Mine != "" && x.MineKm != nil {
			mine, km = x.Mine, fmt.Sprintf("%.1f", *x.MineKm)
		}
		cells := []string{x.ID, ShortClass(x.Class), fmt.Sprintf("%.2f", x.AreaHa), x.FirstSeen, reserve, mine, km,
			fmt.Sprintf("%.2f", x.Confidence), status}
		if x.Highlight() {
			p.SetFillColor(255, 232, 245)
			p.SetFont("Helvetica", "B", 8)
		} else {
			p.SetFillColor(255, 255, 255)
			p.SetFont("Helvetica", "", 8)
		}
		for j, c := range cols {
			txt := t(cells[j])
			if j == 0 { // ids are shrunk, never cut
				size := 8.0
				for size > 5 && p.GetStringWidth(txt) > c.w-1.5 {
					size -= 0.5
					p.SetFontSize(size)
				}
			}
			p.CellFormat(c.w, 5.5, fit(p, txt, c.w-1.5), "B", 0, c.align, true, 0, "")
			p.SetFontSize(8)
		}
		p.Ln(-1)
	}
	if len(r.Incidents) == 0 {
		p.CellFormat(textW, 6, "No incident in the ledger.", "", 1, "L", false, 0, "")
	}
	p.SetFont("Helvetica", "", 8)
	p.SetTextColor(80, 80, 80)
	p.MultiCell(textW, 4.5, t("Change from vegetation to bare soil, to water, or burn scar. Bold rows are new or grew in this run. Status from the ledger (new, growing, active, quiet; confirmed or rejected by a reviewer). Confidence is the highest of the incident's polygons."), "", "L", false)
	p.SetTextColor(0, 0, 0)

	// Chips.
	var chips []*Row
	for i := range r.Incidents {
		if x := &r.Incidents[i]; x.Highlight() && x.After != nil && x.Before != nil {
			chips = append(chips, x)
		}
	}
	if len(chips) > 0 {
		p.AddPage()
		heading("Before and after")
		cw := (textW - 6) / 2
		for _, x := range chips {
			ch := cw * float64(x.After.Height) / float64(max(1, x.After.Width))
			if p.GetY()+ch+16 > pageH-margin-5 {
				p.AddPage()
			}
			p.SetFont("Helvetica", "B", 10)
			p.CellFormat(textW, 5.5, t(fmt.Sprintf("%s (%s): %s, %.2f ha, confidence %.2f", x.ID, x.Tag(), ClassLabel(x.Class), x.AreaHa, x.Confidence)), "", 1, "L", false, 0, "")
			p.SetFont("Helvetica", "", 8.5)
			place := "outside protected areas"
			if x.Reserve != "" {
				place = x.Reserve
			}
			p.CellFormat(textW, 4.5, t(fmt.Sprintf("first seen %s; %s; nearest mine %s", x.FirstSeen, place, x.MineText())), "", 1, "L", false, 0, "")
			if !x.After.Imagery {
				p.SetTextColor(150, 30, 30)
				p.CellFormat(textW, 4.5, "No true-colour composite is published for this run: outlines only.", "", 1, "L", false, 0, "")
				p.SetTextColor(0, 0, 0)
			}
			y := p.GetY() + 1
			image(x.Before, margin, y, cw, ch)
			image(x.After, margin+cw+6, y, cw, ch)
			if x.After.MetresPerPixel > 0 {
				scaleBar(p, x.After, margin+cw+6, y, cw, ch)
				northArrow(p, margin+2*cw+6-12, y+3)
			}
			p.SetXY(margin, y+ch+0.5)
			p.SetFont("Helvetica", "", 8)
			p.CellFormat(cw+6, 4, "before: "+r.Before, "", 0, "L", false, 0, "")
			p.CellFormat(cw, 4, "after: "+r.After, "", 1, "L", false, 0, "")
			p.Ln(4)
		}
	}

	// Totals and provenance.
	p.AddPage()
	heading("Totals by month and class (ledger)")
	runs, ha, cnt := r.TotalsTable()
	cw := (textW - 30) / float64(max(1, len(r.Classes)))
	p.SetFont("Helvetica", "B", 8.5)
	p.SetFillColor(225, 229, 238)
	p.CellFormat(30, 6, "run", "B", 0, "L", true, 0, "")
	for _, c := range r.Classes {
		p.CellFormat(cw, 6, t(ClassLabel(c)), "B", 0, "R", true, 0, "")
	}
	p.Ln(-1)
	p.SetFont("Helvetica", "", 8.5)
	for i, run := range runs {
		p.CellFormat(30, 5.5, Month(run), "B", 0, "L", false, 0, "")
		for j := range r.Classes {
			p.CellFormat(cw, 5.5, fmt.Sprintf("%.2f ha (%d)", ha[i][j], cnt[i][j]), "B", 0, "R", false, 0, "")
		}
		p.Ln(-1)
	}
	p.SetFont("Helvetica", "", 8)
	p.SetTextColor(80, 80, 80)
	p.MultiCell(textW, 4.5, "Hectares mapped in each run by the ledger's incidents (number of incidents in brackets).", "", "L", false)
	p.SetTextColor(0, 0, 0)

	heading("Provenance")
	kv := func(k, v string) {
		p.SetFont("Helvetica", "B", 8.5)
		y := p.GetY()
		p.CellFormat(38, 5, t(k), "", 0, "L", false, 0, "")
		p.SetXY(margin+38, y)
		p.SetFont("Helvetica", "", 8.5)
		p.MultiCell(textW-38, 5, t(v), "", "L", false)
	}
	list := func(xs []string) string {
		if len(xs) == 0 {
			return "-"
		}
		return strings.Join(xs, ", ")
	}
	kv("scenes, before", list(r.Provenance.ScenesBefore))
	kv("scenes, after", list(r.Provenance.ScenesAfter))
	for _, o := range r.Provenance.Options {
		kv(o.Key, o.Value)
	}
	if r.Provenance.Grid != "" {
		kv("grid", r.Provenance.Grid)
	}
	if r.Provenance.Item != "" {
		kv("STAC item", r.Provenance.Item)
	}
	if len(r.Files) > 0 {
		heading("Files")
		p.SetFont("Helvetica", "", 8.5)
		for _, f := range r.Files {
			p.SetTextColor(20, 60, 160)
			p.CellFormat(textW, 4.8, fit(p, t(f.Href), textW), "", 1, "L", false, 0, f.Href)
		}
		p.SetTextColor(0, 0, 0)
	}
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		return nil, fmt.Errorf("report.pdf: %w", err)
	}
	return b.Bytes(), nil
}

// fit shortens s with an ellipsis until it is at most w mm wide in the current font.
func fit(p *fpdf.Fpdf, s string, w float64) string {
	if p.GetStringWidth(s) <= w {
		return s
	}
	const ell = "\x85" // … in Windows-1252
	r := []byte(s)
	for len(r) > 0 && p.GetStringWidth(string(r)+ell) > w {
		r = r[:len(r)-1]
	}
	return string(r) + ell
}

// northArrow draws a north arrow (grid north, which is within a degree of true north
// on the AOIs' UTM grids) with its top-left corner at x, y: a 10 x 14 mm white box.
func northArrow(p *fpdf.Fpdf, x, y float64) {
	p.SetFillColor(255, 255, 255)
	p.SetDrawColor(0, 0, 0)
	p.SetLineWidth(0.2)
	p.Rect(x, y, 9, 13, "F")
	p.SetFillColor(0, 0, 0)
	p.Polygon([]fpdf.PointType{{X: x + 4.5, Y: y + 1}, {X: x + 7.5, Y: y + 8.5}, {X: x + 4.5, Y: y + 6.8}, {X: x + 1.5, Y: y + 8.5}}, "F")
	p.SetFont("Helvetica", "B", 8)
	p.SetXY(x, y+8.3)
	p.CellFormat(9, 4, "N", "", 0, "C", false, 0, "")
}

// scaleBar draws a scale bar in the bottom-left corner of picture pic placed at x, y
// with size w x h mm.
func scaleBar(p *fpdf.Fpdf, pic *Picture, x, y, w, h float64) {
	if pic.MetresPerPixel <= 0 {
		return
	}
	_, px, label := ScaleBar(pic.MetresPerPixel, float64(pic.Width)/4)
	mm := px * w / float64(pic.Width)
	bx, by := x+3, y+h-10
	p.SetFillColor(255, 255, 255)
	p.Rect(bx, by, mm+6, 8, "F")
	p.SetFillColor(0, 0, 0)
	p.Rect(bx+3, by+5, mm/2, 1.4, "F")
	p.SetDrawColor(0, 0, 0)
	p.SetLineWidth(0.3)
	p.Rect(bx+3, by+5, mm, 1.4, "D")
	p.SetFont("Helvetica", "", 7.5)
	p.SetXY(bx+3, by+0.6)
	p.CellFormat(mm, 4, "0", "", 0, "L", false, 0, "")
	p.SetXY(bx+3, by+0.6)
	p.CellFormat(mm, 4, label, "", 0, "R", false, 0, "")
}

// legend writes the map's legend at the current position.
func legend(p *fpdf.Fpdf, t func(string) string, imagery bool) {
	p.SetFont("Helvetica", "", 8.5)
	item := func(r, g, b int, s string) {
		x, y := p.GetX(), p.GetY()
		p.SetDrawColor(0, 0, 0)
		p.SetFillColor(r, g, b)
		p.Rect(x, y+1.2, 6, 2.6, "FD")
		p.SetX(x + 7.5)
		p.CellFormat(p.GetStringWidth(s)+6, 5, s, "", 0, "L", false, 0, "")
	}
	item(255, 40, 200, "new in this run")
	item(255, 170, 0, "grew in this run")
	item(255, 255, 255, "other incidents seen in this run")
	p.Ln(5.5)
	bg := "Background: the after composite in true colour (light grey: not observed). Outlines from the ledger."
	if !imagery {
		bg = "No true-colour composite is published for this run: outlines on a plain background."
	}
	p.SetFont("Helvetica", "", 8)
	p.MultiCell(textW, 4.5, t(bg), "", "L", false)
}
