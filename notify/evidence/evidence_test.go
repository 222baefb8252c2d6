package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"math"
	"testing"

	"github.com/paulmach/orb"
)

func TestParseGeometry(t *testing.T) {
	tests := []struct {
		in      string
		polys   int
		wantErr bool
	}{
		{`{"type":"Polygon","coordinates":[[[28,1],[28.01,1],[28.01,1.01],[28,1]]]}`, 1, false},
		{`{"type":"MultiPolygon","coordinates":[[[[28,1],[28.01,1],[28.01,1.01],[28,1]]],[[[29,1],[29.01,1],[29.01,1.01],[29,1]]]]}`, 2, false},
		{`{"type":"Point","coordinates":[28,1]}`, 0, true},
		{`{"type":`, 0, true},
	}
	for _, tt := range tests {
		mp, err := ParseGeometry(json.RawMessage(tt.in))
		if (err != nil) != tt.wantErr || len(mp) != tt.polys {
			t.Errorf("ParseGeometry(%s) = %d polygons, %v", tt.in, len(mp), err)
		}
	}
}

func TestChipBox(t *testing.T) {
	square := func(side float64) orb.MultiPolygon { // degrees, at 1.3 N
		return orb.MultiPolygon{{{{28, 1.3}, {28 + side, 1.3}, {28 + side, 1.3 + side}, {28, 1.3 + side}, {28, 1.3}}}}
	}
	tests := []struct {
		name   string
		mp     orb.MultiPolygon
		metres float64
	}{
		{"small incident: the minimum", square(0.0005), 600},    // 55 m
		{"large incident: three times", square(0.005), 3 * 556}, // 556 m
	}
	for _, tt := range tests {
		b := ChipBox(tt.mp, 600)
		w := (b[3] - b[1]) * 110574
		if math.Abs(w-tt.metres) > 0.01*tt.metres {
			t.Errorf("%s: %.0f m tall, want %.0f", tt.name, w, tt.metres)
		}
		c := tt.mp.Bound().Center()
		if math.Abs((b[0]+b[2])/2-c[0]) > 1e-9 || math.Abs((b[1]+b[3])/2-c[1]) > 1e-9 {
			t.Errorf("%s: not centred", tt.name)
		}
	}
}

// TestRenderWithoutImagery: with no raster the outline is drawn on a plain background
// where it belongs.
func TestRenderWithoutImagery(t *testing.T) {
	box := [4]float64{28, 1.3, 28.01, 1.31}
	shape := Shape{Geometry: orb.MultiPolygon{{{{28.004, 1.304}, {28.006, 1.304}, {28.006, 1.306}, {28.004, 1.306}, {28.004, 1.304}}}}, Color: ColorNew, Width: 2}
	pic, err := Render(context.Background(), "", box, 200, []Shape{shape})
	if err != nil {
		t.Fatal(err)
	}
	if pic.Imagery || pic.Width != 200 || math.Abs(pic.MetresPerPixel-5.57) > 0.05 {
		t.Fatalf("picture %dx%d, %.2f m/px, imagery %v", pic.Width, pic.Height, pic.MetresPerPixel, pic.Imagery)
	}
	img, err := png.Decode(bytes.NewReader(pic.PNG))
	if err != nil {
		t.Fatal(err)
	}
	// The left edge of the square is at 40 % of the width, its bottom at 60 % of the height.
	x, y := int(0.4*float64(pic.Width)), int(0.5*float64(pic.Height))
	if r, g, b, _ := img.At(x, y).RGBA(); uint8(r>>8) != ColorNew.R || uint8(g>>8) != ColorNew.G || uint8(b>>8) != ColorNew.B {
		t.Errorf("pixel %d,%d is %v, want the outline colour", x, y, img.At(x, y))
	}
	if r, _, _, _ := img.At(pic.Width/2, pic.Height/2).RGBA(); uint8(r>>8) == ColorNew.R {
		t.Errorf("the inside of the outline is painted")
	}
}
