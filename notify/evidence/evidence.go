// Package evidence renders the pictures of an alert: before/after chips of each incident
// and a map of a run's incidents over its after composite, read from the run's
// true-colour COGs (before_rgb.tif, after_rgb.tif) through raster/, with the incidents'
// outlines drawn on them.
package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/changewatch/changewatch/raster"
)

// Picture is a rendered PNG with the ground size of its pixels.
type Picture struct {
	PNG           []byte
	Width, Height int
	// MetresPerPixel is the ground size of one pixel (0 when unknown).
	MetresPerPixel float64
	// Box is the lon/lat box shown: minLon, minLat, maxLon, maxLat.
	Box [4]float64
	// Imagery is false when no true-colour raster was available and only the outlines
	// are drawn.
	Imagery bool
}

// Outline colours.
var (
	ColorNew     = color.RGBA{255, 40, 200, 255} // magenta: new in this run
	ColorGrowing = color.RGBA{255, 170, 0, 255}  // amber: grew in this run
	ColorOther   = color.RGBA{255, 255, 255, 255}
)

// Shape is an incident outline to draw.
type Shape struct {
	Geometry orb.MultiPolygon // lon/lat
	Color    color.RGBA
	Width    float64 // line width in pixels
}

// ParseGeometry decodes a GeoJSON Polygon or MultiPolygon (lon/lat).
func ParseGeometry(raw json.RawMessage) (orb.MultiPolygon, error) {
	g, err := geojson.UnmarshalGeometry(raw)
	if err != nil {
		return nil, fmt.Errorf("geometry: %w", err)
	}
	switch v := g.Geometry().(type) {
	case orb.Polygon:
		return orb.MultiPolygon{v}, nil
	case orb.MultiPolygon:
		return v, nil
	}
	return nil, fmt.Errorf("geometry: %s, want a Polygon or MultiPolygon", g.Type)
}

// ChipBox is the lon/lat box of an incident's chip: centred on its outline, a square
// of at least minMetres and at least 3 times its larger side.
func ChipBox(mp orb.MultiPolygon, minMetres float64) [4]float64 {
	b := mp.Bound()
	lat := (b.Min[1] + b.Max[1]) / 2
	mx := 111320 * math.Cos(lat*math.Pi/180) // metres per degree of longitude
	my := 110574.0
	side := max(minMetres, 3*max((b.Max[0]-b.Min[0])*mx, (b.Max[1]-b.Min[1])*my))
	cx, cy := (b.Min[0]+b.Max[0])/2, (b.Min[1]+b.Max[1])/2
	return [4]float64{cx - side/2/mx, cy - side/2/my, cx + side/2/mx, cy + side/2/my}
}

// Render draws shapes over the box of the true-colour raster at path, with the longer
// side of side pixels. When path is "" or cannot be read (an older run without
// true-colour outputs), the shapes are drawn on a plain background in a local
// equirectangular projection, and Imagery is false.
func Render(ctx context.Context, path string, box [4]float64, side int, shapes []Shape) (*Picture, error) {
	var img *image.RGBA
	var toPixels func(xs, ys []float64) error
	pic := &Picture{Box: box}
	if path != "" {
		if w, err := raster.ReadRGB(ctx, path, box, side); err == nil {
			img, toPixels = w.Image, w.ToPixels
			pic.MetresPerPixel, pic.Imagery = w.Grid.Res, true
		} else if ctx.Err() != nil {
			return nil, err
		}
	}
	if img == nil {
		lat := (box[1] + box[3]) / 2
		mx, my := 111320*math.Cos(lat*math.Pi/180), 110574.0
		wm, hm := (box[2]-box[0])*mx, (box[3]-box[1])*my
		res := max(wm, hm) / float64(side)
		if res <= 0 || math.IsNaN(res) {
			return nil, fmt.Errorf("render: empty box %v", box)
		}
		w, h := max(1, int(math.Round(wm/res))), max(1, int(math.Round(hm/res)))
		img = image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{90, 110, 90, 255}}, image.Point{}, draw.Src)
		toPixels = func(xs, ys []float64) error {
			for i := range xs {
				xs[i] = (xs[i] - box[0]) * mx / res
				ys[i] = (box[3] - ys[i]) * my / res
			}
			return nil
		}
		pic.MetresPerPixel = res
	}
	for _, s := range shapes {
		if err := drawOutline(img, s, toPixels); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	pic.PNG, pic.Width, pic.Height = buf.Bytes(), img.Bounds().Dx(), img.Bounds().Dy()
	return pic, nil
}

// drawOutline strokes every ring of s, with a thin dark casing so the line shows on
// bright soil and on forest alike.
func drawOutline(img *image.RGBA, s Shape, toPixels func(xs, ys []float64) error) error {
	w := s.Width
	if w <= 0 {
		w = 2
	}
	for _, poly := range s.Geometry {
		for _, ring := range poly {
			xs, ys := make([]float64, len(ring)), make([]float64, len(ring))
			for i, p := range ring {
				xs[i], ys[i] = p[0], p[1]
			}
			if err := toPixels(xs, ys); err != nil {
				return fmt.Errorf("render: %w", err)
			}
			for pass, c := range []color.RGBA{{0, 0, 0, 255}, s.Color} {
				lw := w
				if pass == 0 {
					lw = w + 2
				}
				for i := 1; i < len(xs); i++ {
					line(img, xs[i-1], ys[i-1], xs[i], ys[i], lw, c)
				}
			}
		}
	}
	return nil
}

// line paints a segment of width w (pixels) by stamping squares along it.
func line(img *image.RGBA, x0, y0, x1, y1, w float64, c color.RGBA) {
	b := img.Bounds()
	n := int(math.Ceil(math.Hypot(x1-x0, y1-y0)*2)) + 1
	if n > 1<<16 {
		return // off the picture by far; a broken coordinate
	}
	h := w / 2
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		x, y := x0+t*(x1-x0), y0+t*(y1-y0)
		for yy := int(math.Floor(y - h)); yy < int(math.Ceil(y+h)); yy++ {
			for xx := int(math.Floor(x - h)); xx < int(math.Ceil(x+h)); xx++ {
				if image.Pt(xx, yy).In(b) {
					img.SetRGBA(xx, yy, c)
				}
			}
		}
	}
}
