package jobs

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"2023-01-01/2023-03-31", "2023-01-01/2023-03-31", ""},
		{" 2024-02-29/2024-02-29 ", "2024-02-29/2024-02-29", ""},
		{"2023-01-01", "", "want START/END"},
		{"2023-13-01/2023-03-31", "", "start"},
		{"2023-01-01/2023-02-30", "", "end"},
		{"2023-03-31/2023-01-01", "", "end is before start"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePeriod(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || p.String() != tt.want {
				t.Fatalf("got %v, %v", p, err)
			}
			if last := p.Last(); last.Format("15:04:05") != "23:59:59" || !last.After(p.End) {
				t.Fatalf("Last %v", last)
			}
		})
	}
}

func TestDetectRequestValidate(t *testing.T) {
	before, _ := ParsePeriod("2023-01-01/2023-03-31")
	after, _ := ParsePeriod("2024-01-01/2024-03-31")
	neg := -1
	good := func() DetectRequest {
		return DetectRequest{Version: PayloadVersion, AOI: json.RawMessage(`{}`), Before: before, After: after, Catalog: "c", Output: "o"}
	}
	tests := []struct {
		name      string
		edit      func(*DetectRequest)
		wantField string
	}{
		{"good", func(*DetectRequest) {}, ""},
		{"unknown version", func(r *DetectRequest) { r.Version = 2 }, "version"},
		{"no aoi", func(r *DetectRequest) { r.AOI = nil }, "aoi"},
		{"no after", func(r *DetectRequest) { r.After = Period{} }, "before/after"},
		{"overlapping periods", func(r *DetectRequest) { r.After = before }, "after"},
		{"no catalog", func(r *DetectRequest) { r.Catalog = "" }, "catalog"},
		{"no output", func(r *DetectRequest) { r.Output = "" }, "output"},
		{"negative buffer", func(r *DetectRequest) { r.Options.MaskBuffer = &neg }, "options.mask_buffer"},
		{"too many scenes", func(r *DetectRequest) { r.Options.MaxScenes = 17 }, "options.max_scenes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good()
			tt.edit(&r)
			err := r.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var br *BadRequest
			if !errors.As(err, &br) || br.Field != tt.wantField || !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v, want a BadRequest on %s", err, tt.wantField)
			}
		})
	}
}

func TestRequestJSONRoundTrip(t *testing.T) {
	before, _ := ParsePeriod("2023-01-01/2023-03-31")
	after, _ := ParsePeriod("2024-01-01/2024-03-31")
	r := DetectRequest{Version: PayloadVersion, AOI: json.RawMessage(`{"type":"Polygon"}`), Before: before, After: after,
		Catalog: "s3://b/c", Output: "s3://b/o", Options: Options{MinAreaHa: 0.5}.WithDefaults()}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"before":"2023-01-01/2023-03-31"`) {
		t.Fatalf("periods are not written as START/END: %s", data)
	}
	var back DetectRequest
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Before != r.Before || back.After != r.After || *back.Options.MaskBuffer != DefaultMaskBuffer || back.Options.MinAreaHa != 0.5 {
		t.Fatalf("round trip: %+v", back)
	}
}

func TestMonthPeriods(t *testing.T) {
	tests := []struct {
		month  string
		months int
		before string
		after  string
	}{
		{"2024-03", 12, "2023-03-01/2024-02-29", "2024-03-01/2024-03-31"},
		{"2024-01", 0, "2023-01-01/2023-12-31", "2024-01-01/2024-01-31"},
		{"2024-01", 3, "2023-10-01/2023-12-31", "2024-01-01/2024-01-31"},
	}
	for _, tt := range tests {
		m, _ := time.Parse("2006-01", tt.month)
		b, a := MonthPeriods(m, tt.months)
		if b.String() != tt.before || a.String() != tt.after {
			t.Errorf("%s/%d: %s %s", tt.month, tt.months, b, a)
		}
	}
	b, a := MonthlyPeriods(time.Date(2024, 4, 2, 6, 0, 0, 0, time.UTC))
	if b.String() != "2023-03-01/2024-02-29" || a.String() != "2024-03-01/2024-03-31" {
		t.Errorf("MonthlyPeriods: %s %s", b, a)
	}
}

func TestParseMonths(t *testing.T) {
	ms, err := ParseMonths("2023-11/2024-02", 100)
	if err != nil || len(ms) != 4 || ms[3].Format("2006-01") != "2024-02" {
		t.Fatalf("%v %v", ms, err)
	}
	for _, bad := range []string{"2023-11", "2023-13/2024-01", "2024-01/2023-01", "2023-01/x"} {
		if _, err := ParseMonths(bad, 100); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if _, err := ParseMonths("2000-01/2024-01", 120); err == nil {
		t.Error("no bound on the months")
	}
}
