package server_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/changewatch/changewatch/internal/testenv"
)

// artifactDir is where the browser test keeps its screenshots: $CHANGEWATCH_ARTIFACTS,
// else test-artifacts/browser at the repository root.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CHANGEWATCH_ARTIFACTS")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "test-artifacts")
	}
	dir = filepath.Join(dir, "browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromiumPath finds Debian's chromium; outside CI a machine without it skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if testenv.InCI() {
		t.Fatal("chromium is not installed (scripts/setup.sh installs it)")
	}
	t.Skip("chromium is not installed (scripts/setup.sh installs it)")
	return ""
}

// newBrowser starts headless chromium with a fresh profile.
func newBrowser(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, 4*time.Minute)
	return ctx, func() { cancelC(); cancelB(); cancelA() }
}

func screenshot(t *testing.T, ctx context.Context, name string) image.Image {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(artifactDir(t), name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// differ counts pixels of the box that differ between a and b.
func differ(a, b image.Image, box image.Rectangle) int {
	n := 0
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				n++
			}
		}
	}
	return n
}

func login(t *testing.T, ctx context.Context, url, token string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), token),
		chromedp.Submit(chromedp.CSS(`#login`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
	)
	if err != nil {
		t.Fatalf("log in and open the map: %v", err)
	}
	// Let the tiles arrive and the map settle.
	waitRendered(t, ctx)
}

func waitRendered(t *testing.T, ctx context.Context) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise((res) => {
		const m = window.changewatch.map; m.once('rendercomplete', () => res(true)); m.render(); })`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("wait for the map: %v", err)
	}
}

// TestBrowser opens the map in headless Chromium as a reader and as staff: incidents are
// drawn, the swipe shows before and after, a click opens an incident with its history,
// staff confirm it, and a file downloads. Screenshots go to test-artifacts/browser/.
func TestBrowser(t *testing.T) {
	e := newEnv(t)
	const id = "browser-test"
	run := e.processRun(t, id)
	incs := e.writeLedger(t, id, run)
	if len(incs) == 0 {
		t.Fatal("no incident to show")
	}

	t.Run("reader", func(t *testing.T) {
		ctx, cancel := newBrowser(t)
		defer cancel()
		login(t, ctx, e.url, readerToken)
		n := evalJS[string](t, ctx, `document.body.dataset.incidents`)
		if n != fmt.Sprint(len(incs)) {
			t.Fatalf("%s incidents drawn, want %d", n, len(incs))
		}
		screenshot(t, ctx, "reader-map")
		clickIncident(t, ctx, incs[0].IncidentID)
		if evalJS[int](t, ctx, `document.querySelectorAll('#confirm-btn').length`) != 0 {
			t.Error("a reader sees the review buttons")
		}
		screenshot(t, ctx, "reader-incident")
	})

	t.Run("staff", func(t *testing.T) {
		ctx, cancel := newBrowser(t)
		defer cancel()
		login(t, ctx, e.url, staffToken)
		iid := incs[0].IncidentID

		// Incidents drawn: the pixels at an incident change when the incident layer is hidden.
		with := screenshot(t, ctx, "staff-map")
		px := evalJS[[]float64](t, ctx, fmt.Sprintf(`window.changewatch.pixelOf(%q)`, iid))
		setIncidents := func(v bool) {
			evalJS[bool](t, ctx, fmt.Sprintf(`(window.changewatch.map.getLayers().getArray().find(l => l.get('name') === 'incidents').setVisible(%v), true)`, v))
			waitRendered(t, ctx)
		}
		setIncidents(false)
		without := screenshot(t, ctx, "staff-map-no-incidents")
		setIncidents(true)
		box := image.Rect(int(px[0])-3, int(px[1])-3, int(px[0])+4, int(px[1])+4)
		if differ(with, without, box) == 0 {
			t.Errorf("no incident drawn at %v", px)
		}

		// Swipe: all before and all after differ over the map.
		swipeTo := func(v int) image.Image {
			evalJS[bool](t, ctx, fmt.Sprintf(`(() => { const s = document.getElementById('swipe'); s.value = %d; s.dispatchEvent(new Event('input')); return true; })()`, v))
			waitRendered(t, ctx)
			return screenshot(t, ctx, fmt.Sprintf("staff-swipe-%d", v))
		}
		setIncidents(false)
		allBefore, allAfter := swipeTo(100), swipeTo(0)
		half := swipeTo(50)
		setIncidents(true)
		mapBox := image.Rect(20, 60, 920, 760)
		if d := differ(allBefore, allAfter, mapBox); d < 1000 {
			t.Errorf("before and after differ in %d pixels only", d)
		}
		left, right := image.Rect(20, 60, 400, 760), image.Rect(560, 60, 920, 760)
		if differ(half, allBefore, left) != 0 || differ(half, allAfter, right) != 0 {
			t.Error("the swipe at 50 % does not show before on the left and after on the right")
		}

		// Click: the incident panel with its history chart (one point per run seen).
		clickIncident(t, ctx, iid)
		points := evalJS[int](t, ctx, `document.querySelectorAll('#history-chart circle.point').length`)
		if points != len(incs[0].AreaByRun) {
			t.Errorf("history chart with %d points, want %d", points, len(incs[0].AreaByRun))
		}
		screenshot(t, ctx, "staff-incident")

		// Confirm it.
		err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#confirm-btn`)),
			chromedp.WaitVisible(chromedp.CSS(`#incident-panel td[data-attr="verdict"]`)))
		msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#incident-panel td[data-attr="status"]`)))
		if err != nil || msg != "confirmed" {
			t.Fatalf("confirm: status %q, %v", msg, err)
		}
		var f struct{ Properties struct{ Status string } }
		e.getJSON(t, "/api/v1/collections/"+id+"/items/"+iid, readerToken, &f)
		if f.Properties.Status != "confirmed" {
			t.Errorf("status after confirming in the page: %q", f.Properties.Status)
		}
		screenshot(t, ctx, "staff-confirmed")

		// Download the GeoPackage of the run (through the presigned URL).
		dl := t.TempDir()
		progress := chromedp.Events(ctx, browser.DownloadProgress)
		events := true
		err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dl, EventsEnabled: &events})
			return err
		}), chromedp.Click(chromedp.CSS(`a[data-file="changes.gpkg"]`)))
		if err != nil {
			t.Fatal(err)
		}
		guid := ""
		for ev, err := range progress {
			if err != nil {
				t.Fatal(err)
			}
			if ev.State == browser.DownloadProgressStateCompleted {
				guid = ev.GUID
				break
			}
		}
		got, err := os.ReadFile(filepath.Join(dl, guid))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := e.store.Get(context.Background(), id+"/"+run+"/changes.gpkg")
		if !bytes.Equal(got, want) {
			t.Errorf("downloaded %d bytes, want the run's %d", len(got), len(want))
		}
	})
}

// clickIncident clicks inside the incident on the map and waits for its panel.
func clickIncident(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	px := evalJS[[]float64](t, ctx, fmt.Sprintf(`window.changewatch.pixelOf(%q)`, id))
	if len(px) != 2 {
		t.Fatalf("incident %s not on the map", id)
	}
	err := chromedp.Do(ctx, chromedp.MouseClickXY(px[0], px[1]), chromedp.WaitVisible(chromedp.CSS(`#incident-panel`)))
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#incident-panel td[data-attr="id"]`)))
	if err != nil || !strings.Contains(text, id) {
		t.Fatalf("click on incident %s: panel shows %q, %v", id, text, err)
	}
}

// evalJS evaluates expr in the page (awaiting a promise) and returns its value.
func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}
