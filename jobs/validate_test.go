package jobs

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheckID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"muchacha", true}, {"muchacha-block", true}, {"a_7", true}, {"3", true}, {"aoi-0123456789ab", true},
		{strings.Repeat("a", 64), true},
		{"", false}, {strings.Repeat("a", 65), false}, {strings.Repeat("a", 10000), false},
		{"..", false}, {"../../../../x/escaped", false}, {"a/../other-aoi", false}, {"a/b", false},
		{`a\b`, false}, {"a\x00b", false}, {".hidden", false}, {"-flag", false}, {"a b", false},
		{"a.b", false}, {"a\u2215b", false}, {"a\uff0fb", false}, {"\u0430oi", false}, // U+2215 division slash, U+FF0F fullwidth solidus, Cyrillic a
		{"a\nb", false}, {"a%2fb", false},
	}
	for _, tt := range tests {
		err := CheckID("aoi_id", tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("CheckID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
		if err != nil && (!errors.Is(err, ErrBadRequest) || len(err.Error()) > 300) {
			t.Errorf("CheckID(%q): %v: want a short BadRequest", tt.id, err)
		}
	}
}

func TestCheckLocation(t *testing.T) {
	tests := []struct {
		loc string
		ok  bool
	}{
		{"s3://results", true}, {"s3://results/muchacha/2024-01_2024-03", true}, {"out/muchacha", true},
		{"/tmp/out/muchacha/2024-01_2024-03", true}, {"/tmp/out/", true}, {"https://earth-search.aws.element84.com/v1", true},
		{"s3://results/../other", false}, {"s3://results/a/../../b", false}, {"/tmp/out/../../etc", false},
		{"out/./x", false}, {"s3://results//x", false}, {`s3://results/a\b`, false}, {"s3://results/a\x00", false},
		{"s3://results/\u2025", false}, {"s3://Results/x", false}, {"s3://r/x", false}, {"/vsis3/results/x", false},
		{"ftp://x/y", false}, {"https://host/a/../b", false},
	}
	for _, tt := range tests {
		if err := CheckLocation("output", tt.loc); (err == nil) != tt.ok {
			t.Errorf("CheckLocation(%q) = %v, want ok=%v", tt.loc, err, tt.ok)
		}
	}
}

func goodRequest() DetectRequest {
	before, _ := ParsePeriod("2023-01-01/2023-03-31")
	after, _ := ParsePeriod("2024-01-01/2024-03-31")
	return DetectRequest{Version: PayloadVersion, AOIID: "muchacha", AOI: json.RawMessage(`{"type":"Polygon"}`),
		Before: before, After: after, Catalog: "s3://imagery/catalog", Output: "s3://results/muchacha/2024-01_2024-03"}
}

func goodScenes() []Scene {
	return []Scene{{ID: "S2B_35NPB_20240115_0_L2A", Hrefs: map[string]string{"red": "s3://imagery/catalog/B04.tif"}}}
}

func TestChunkAndMergeValidate(t *testing.T) {
	good := func() ChunkRequest {
		return ChunkRequest{Version: PayloadVersion, Request: goodRequest(), Run: "0123456789abcdef",
			Before: goodScenes(), After: goodScenes(), Index: 1, Count: 4, Col: 4080, Row: 0, Width: 4080, Height: 4080}
	}
	tests := []struct {
		name  string
		edit  func(*ChunkRequest)
		field string
	}{
		{"good", func(*ChunkRequest) {}, ""},
		{"count 3e9", func(c *ChunkRequest) { c.Count = 3_000_000_000 }, "count"},
		{"count -1", func(c *ChunkRequest) { c.Count = -1 }, "count"},
		{"count 0", func(c *ChunkRequest) { c.Count = 0 }, "count"},
		{"index past count", func(c *ChunkRequest) { c.Index = 4 }, "index"},
		{"negative index", func(c *ChunkRequest) { c.Index = -1 }, "index"},
		{"window 2e9 x 2e9", func(c *ChunkRequest) { c.Width, c.Height = 2_000_000_000, 2_000_000_000 }, "width/height"},
		{"empty window", func(c *ChunkRequest) { c.Width = 0 }, "width/height"},
		{"negative col", func(c *ChunkRequest) { c.Col = -6 }, "col/row"},
		{"huge row", func(c *ChunkRequest) { c.Row = 1 << 40 }, "col/row"},
		{"run with a path", func(c *ChunkRequest) { c.Run = "../../x" }, "run"},
		{"run too long", func(c *ChunkRequest) { c.Run = strings.Repeat("a", 10000) }, "run"},
		{"no scenes", func(c *ChunkRequest) { c.Before = nil }, "before"},
		{"too many scenes", func(c *ChunkRequest) {
			for range 20 {
				c.After = append(c.After, goodScenes()...)
			}
		}, "after"},
		{"bad aoi id in the request", func(c *ChunkRequest) { c.Request.AOIID = "a/../b" }, "aoi_id"},
		{"output escaping", func(c *ChunkRequest) { c.Request.Output = "s3://results/../x" }, "output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.edit(&c)
			payload, _ := json.Marshal(c)
			_, err := DecodeChunkRequest(payload)
			checkField(t, err, tt.field)
			m := MergeRequest{Version: PayloadVersion, Request: c.Request, Run: c.Run, Before: c.Before, After: c.After, Count: c.Count}
			payload, _ = json.Marshal(m)
			_, err = DecodeMergeRequest(payload)
			switch tt.field {
			case "index", "width/height", "col/row":
				checkField(t, err, "")
			default:
				checkField(t, err, tt.field)
			}
		})
	}
}

func checkField(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	var br *BadRequest
	if !errors.As(err, &br) || br.Field != field {
		t.Fatalf("error %v, want a BadRequest on %s", err, field)
	}
}

func TestDetectRequestBounds(t *testing.T) {
	big := goodRequest()
	big.AOI = json.RawMessage(`{"type":"Feature","properties":{"junk":"` + strings.Repeat("x", MaxAOIBytes) + `"}}`)
	if err := big.Validate(); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "aoi") {
		t.Errorf("50 MB aoi: %v", err)
	}
	payload, _ := json.Marshal(big)
	if _, err := DecodeDetectRequest(payload); !errors.Is(err, ErrBadRequest) {
		t.Errorf("decode big payload: %v", err)
	}
	if _, err := NewDetectTask(big, QueueAdhoc); !errors.Is(err, ErrBadRequest) {
		t.Errorf("enqueue big aoi: %v", err)
	}
	escaped := goodRequest()
	escaped.AOIID = "../../../../x/escaped"
	if _, err := NewDetectTask(escaped, QueueAdhoc); !errors.Is(err, ErrBadRequest) {
		t.Errorf("enqueue escaping aoi id: %v", err)
	}
}

func TestTaskIDCoversTheGeometry(t *testing.T) {
	a, b := goodRequest(), goodRequest()
	a.AOI = json.RawMessage(`{"type":"Polygon","coordinates":[[[28,1],[28.1,1],[28.1,1.1],[28,1]]]}`)
	b.AOI = json.RawMessage(`{"type":"Polygon","coordinates":[[[28,1],[28.2,1],[28.2,1.1],[28,1]]]}`)
	if a.TaskID() == b.TaskID() {
		t.Error("a corrected boundary with the same id and periods has the same task id")
	}
	c := goodRequest()
	c.AOI = json.RawMessage("{\"type\": \"Polygon\",\n \"coordinates\": [[[28,1],[28.1,1],[28.1,1.1],[28,1]]]}")
	if a.TaskID() != c.TaskID() {
		t.Error("whitespace changes the task id")
	}
}
