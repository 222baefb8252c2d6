package report

import (
	"bytes"
	"testing"
)

func TestScaleBar(t *testing.T) {
	tests := []struct {
		mpp, maxPx float64
		metres     float64
		label      string
	}{
		{10, 100, 1000, "1 km"},
		{10, 60, 500, "500 m"},
		{2.5, 100, 200, "200 m"},
		{30, 350, 10000, "10 km"},
		{0.5, 30, 10, "10 m"},
	}
	for _, tt := range tests {
		m, px, label := ScaleBar(tt.mpp, tt.maxPx)
		if m != tt.metres || label != tt.label || px > tt.maxPx || px != m/tt.mpp {
			t.Errorf("ScaleBar(%v, %v) = %v m, %v px, %q; want %v m, %q", tt.mpp, tt.maxPx, m, px, label, tt.metres, tt.label)
		}
	}
}

// TestPDFEmpty: a report of an AOI without incidents or pictures still renders.
func TestPDFEmpty(t *testing.T) {
	r := &Report{AOIID: "empty", AOIName: "Empty — AOI", Run: "2024-03_2024-03", Classes: []string{"burn_scar"}}
	pdf, err := PDF(r)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("pdf %d bytes, %v", len(pdf), err)
	}
	html, err := HTML(r)
	if err != nil || !bytes.Contains(html, []byte("No incident in the ledger.")) {
		t.Fatalf("html: %v", err)
	}
}
