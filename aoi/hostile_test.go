package aoi

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseRefusesHostileIDsAndSizes(t *testing.T) {
	square := func(props string, side float64) string {
		return fmt.Sprintf(`{"type":"Feature","properties":%s,"geometry":{"type":"Polygon","coordinates":[[[28.1,1.3],[%g,1.3],[%g,%g],[28.1,%g],[28.1,1.3]]]}}`,
			props, 28.1+side, 28.1+side, 1.3+side, 1.3+side)
	}
	tests := []struct {
		name, doc, field string
	}{
		{"good", square(`{"id":"muchacha"}`, 0.01), ""},
		{"id escaping the output", square(`{"id":"../../../../x/escaped"}`, 0.01), "properties.id"},
		{"id naming another aoi", square(`{"id":"a/../other-aoi"}`, 0.01), "properties.id"},
		{"id with a backslash", square(`{"id":"a\\b"}`, 0.01), "properties.id"},
		{"id with NUL", square(`{"id":"a\u0000b"}`, 0.01), "properties.id"},
		{"id with a look-alike slash", square(`{"id":"a\u2215b"}`, 0.01), "properties.id"},
		{"10 kB id", square(`{"id":"`+strings.Repeat("a", 10000)+`"}`, 0.01), "properties.id"},
		{"feature id escaping", strings.Replace(square(`{}`, 0.01), `"type":"Feature",`, `"type":"Feature","id":"../x",`, 1), "properties.id"},
		{"sliver of ~0 ha", square(`{"id":"sliver"}`, 1e-6), "geometry"},
		{"junk property of 5 MB", square(`{"id":"big","junk":"`+strings.Repeat("x", 5<<20)+`"}`, 0.01), "json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse([]byte(tt.doc), Limits{})
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if a.ID != "muchacha" {
					t.Fatalf("id %q", a.ID)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.HasPrefix(ve.Field, tt.field) || len(err.Error()) > 400 {
				t.Fatalf("error %.300v, want a short ValidationError on %s", err, tt.field)
			}
		})
	}
}
