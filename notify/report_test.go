package notify

import (
	"bytes"
	"context"
	stdhtml "html"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/changewatch/changewatch/jobs"
)

// TestRunWritesReports: notify:run writes report.html, report.pdf and the chips of the
// new and growing incidents beside the run; the PDF is A4 and names every incident of
// the ledger (checked with poppler's pdfinfo and pdftotext). With
// CHANGEWATCH_REPORT_PNG=dir the pages are also rendered there as PNG to look at.
func TestRunWritesReports(t *testing.T) {
	for _, rgb := range []bool{true, false} {
		name := "with imagery"
		if !rgb {
			name = "without imagery"
		}
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			writeFixture(t, out, rgb)
			h := &Handler{ReportsOnly: true}
			task, err := jobs.NewNotifyRunTask(jobs.NotifyRunRequest{Output: out, AOIID: fixAOI, Run: fixRun})
			if err != nil {
				t.Fatal(err)
			}
			if err := h.run(context.Background(), asynq.NewTask(task.Type(), task.Payload())); err != nil {
				t.Fatal(err)
			}
			run := filepath.Join(out, fixAOI, fixRun)
			for _, f := range []string{"report.html", "report.pdf", "chips/inc-muchacha-a_before.png", "chips/inc-muchacha-a_after.png",
				"chips/inc-muchacha-b_after.png"} {
				if _, err := os.Stat(filepath.Join(run, f)); err != nil {
					t.Errorf("missing %s: %v", f, err)
				}
			}
			if _, err := os.Stat(filepath.Join(run, "chips/inc-muchacha-c_after.png")); err == nil {
				t.Errorf("a chip of an incident not seen in the run")
			}
			pdf := filepath.Join(run, "report.pdf")
			info, err := exec.Command("pdfinfo", pdf).Output()
			if err != nil {
				t.Fatalf("pdfinfo: %v", err)
			}
			if !strings.Contains(string(info), "595.28 x 841.89 pts (A4)") {
				t.Errorf("pdfinfo:\n%s", info)
			}
			text, err := exec.Command("pdftotext", "-layout", pdf, "-").Output()
			if err != nil {
				t.Fatalf("pdftotext: %v", err)
			}
			raw, _ := os.ReadFile(filepath.Join(run, "report.html"))
			html := []byte(stdhtml.UnescapeString(string(raw)))
			for _, want := range []string{"inc-muchacha-a", "inc-muchacha-b", "inc-muchacha-c", "Okapi Wildlife Reserve", "Muchacha (gold), 0.4 km",
				"S2A_35NPA_20240309_0_L2A", "1 new incident(s), 6.00 ha; 1 growing, +2.00 ha", "2024-01"} {
				if !bytes.Contains(text, []byte(want)) {
					t.Errorf("report.pdf does not say %q", want)
				}
				if !bytes.Contains(html, []byte(want)) {
					t.Errorf("report.html does not say %q", want)
				}
			}
			if dir := os.Getenv("CHANGEWATCH_REPORT_PNG"); dir != "" {
				prefix := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
				if b, err := exec.Command("pdftoppm", "-png", "-r", "70", pdf, prefix).CombinedOutput(); err != nil {
					t.Fatalf("pdftoppm: %v %s", err, b)
				}
				os.WriteFile(prefix+".html", raw, 0o644)
			}
		})
	}
}
