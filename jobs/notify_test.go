package jobs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNotifyRunRequest(t *testing.T) {
	good := func() NotifyRunRequest {
		return NotifyRunRequest{Output: "s3://results/prefix", AOIID: "muchacha", Run: "2024-03_2024-03"}
	}
	tests := []struct {
		name      string
		edit      func(*NotifyRunRequest)
		wantField string
	}{
		{"good", func(*NotifyRunRequest) {}, ""},
		{"local output", func(r *NotifyRunRequest) { r.Output = "/srv/results" }, ""},
		{"no output", func(r *NotifyRunRequest) { r.Output = "" }, "output"},
		{"long output", func(r *NotifyRunRequest) { r.Output = strings.Repeat("a", 1025) }, "output"},
		{"newline in output", func(r *NotifyRunRequest) { r.Output = "a\nb" }, "output"},
		{"no aoi", func(r *NotifyRunRequest) { r.AOIID = "" }, "aoi_id"},
		{"aoi with slash", func(r *NotifyRunRequest) { r.AOIID = "a/b" }, "aoi_id"},
		{"aoi dot dot", func(r *NotifyRunRequest) { r.AOIID = "a..b" }, "aoi_id"},
		{"aoi too long", func(r *NotifyRunRequest) { r.AOIID = strings.Repeat("a", 129) }, "aoi_id"},
		{"bad run", func(r *NotifyRunRequest) { r.Run = "2024-03" }, "run"},
		{"bad month", func(r *NotifyRunRequest) { r.Run = "2024-13_2024-13" }, "run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good()
			tt.edit(&r)
			task, err := NewNotifyRunTask(r)
			if tt.wantField == "" {
				if err != nil {
					t.Fatal(err)
				}
				if task.Type() != TypeNotifyRun {
					t.Fatalf("type %q", task.Type())
				}
				back, err := DecodeNotifyRunRequest(task.Payload())
				r.Version = PayloadVersion
				if err != nil || back != r {
					t.Fatalf("round trip: %+v, %v", back, err)
				}
				return
			}
			var bad *BadRequest
			if !errors.As(err, &bad) || bad.Field != tt.wantField || !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v, want a BadRequest on %q", err, tt.wantField)
			}
		})
	}
	r := good()
	if id := r.TaskID(); id != "notify:muchacha:2024-03_2024-03" {
		t.Fatalf("task id %q", id)
	}
	if _, err := DecodeNotifyRunRequest([]byte(`{"version":2}`)); err == nil {
		t.Fatal("an unknown version was accepted")
	}
}

func TestNotifyDeliverRequest(t *testing.T) {
	hook := Channel{Kind: ChannelWebhook, URL: "https://hooks.example.org/cw"}
	mailTo := Channel{Kind: ChannelEmail, To: []string{"gis@example.org", "field@example.org"}}
	good := func() NotifyDeliverRequest {
		return NotifyDeliverRequest{Output: "s3://results", AOIID: "muchacha", Run: "2024-03_2024-03",
			Subscription: "gis-team", Rule: "new-in-reserve", Channel: hook, Incidents: []string{"inc-muchacha-3f2a9c01"}}
	}
	many := make([]string, MaxNotifyIncidents+1)
	for i := range many {
		many[i] = "inc-x"
	}
	tests := []struct {
		name      string
		edit      func(*NotifyDeliverRequest)
		wantField string
	}{
		{"webhook", func(*NotifyDeliverRequest) {}, ""},
		{"email", func(r *NotifyDeliverRequest) { r.Channel = mailTo }, ""},
		{"ftp webhook", func(r *NotifyDeliverRequest) { r.Channel.URL = "ftp://example.org/x" }, "url"},
		{"no host", func(r *NotifyDeliverRequest) { r.Channel.URL = "https:///x" }, "url"},
		{"user info", func(r *NotifyDeliverRequest) { r.Channel.URL = "https://u:p@example.org/" }, "url"},
		{"webhook with addresses", func(r *NotifyDeliverRequest) { r.Channel.To = []string{"a@b.org"} }, "channel.to"},
		{"email with url", func(r *NotifyDeliverRequest) { r.Channel = mailTo; r.Channel.URL = "https://x.org" }, "channel.url"},
		{"email without addresses", func(r *NotifyDeliverRequest) { r.Channel = Channel{Kind: ChannelEmail} }, "channel.to"},
		{"display name", func(r *NotifyDeliverRequest) {
			r.Channel = Channel{Kind: ChannelEmail, To: []string{"GIS <gis@example.org>"}}
		}, "channel.to[0]"},
		{"header injection", func(r *NotifyDeliverRequest) {
			r.Channel = Channel{Kind: ChannelEmail, To: []string{"gis@example.org\r\nBcc: x@y.org"}}
		}, "channel.to[0]"},
		{"unknown kind", func(r *NotifyDeliverRequest) { r.Channel.Kind = "sms" }, "channel.kind"},
		{"no incidents", func(r *NotifyDeliverRequest) { r.Incidents = nil }, "incidents"},
		{"too many incidents", func(r *NotifyDeliverRequest) { r.Incidents = many }, "incidents"},
		{"bad incident id", func(r *NotifyDeliverRequest) { r.Incidents = []string{"../x"} }, "incidents[0]"},
		{"bad subscription", func(r *NotifyDeliverRequest) { r.Subscription = "" }, "subscription"},
		{"bad rule", func(r *NotifyDeliverRequest) { r.Rule = "a b" }, "rule"},
		{"bad run", func(r *NotifyDeliverRequest) { r.Run = "" }, "run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good()
			tt.edit(&r)
			task, err := NewNotifyDeliverTask(r)
			if tt.wantField == "" {
				if err != nil {
					t.Fatal(err)
				}
				back, err := DecodeNotifyDeliverRequest(task.Payload())
				if err != nil {
					t.Fatal(err)
				}
				if back.Key != DeliveryKey(r.AOIID, r.Run, r.Subscription, r.Rule, r.Channel) || task.Type() != TypeNotifyDeliver {
					t.Fatalf("decoded %+v", back)
				}
				return
			}
			var bad *BadRequest
			if !errors.As(err, &bad) || bad.Field != tt.wantField {
				t.Fatalf("error %v, want a BadRequest on %q", err, tt.wantField)
			}
		})
	}

	// A forged or stale key is refused when decoded.
	task, err := NewNotifyDeliverTask(good())
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(task.Payload()), `"rule":"new-in-reserve"`, `"rule":"other"`, 1)
	if _, err := DecodeNotifyDeliverRequest([]byte(forged)); err == nil || !strings.Contains(err.Error(), "key") {
		t.Fatalf("a key of another rule was accepted: %v", err)
	}
}

func TestDeliveryKey(t *testing.T) {
	a := Channel{Kind: ChannelEmail, To: []string{"b@x.org", "A@x.org"}}
	b := Channel{Kind: ChannelEmail, To: []string{"a@x.org", "b@x.org"}}
	hook := Channel{Kind: ChannelWebhook, URL: "https://x.org/h"}
	k := DeliveryKey("aoi", "2024-03_2024-03", "s", "r", a)
	tests := []struct {
		name string
		key  string
		same bool
	}{
		{"same addresses in another order and case", DeliveryKey("aoi", "2024-03_2024-03", "s", "r", b), true},
		{"another run", DeliveryKey("aoi", "2024-04_2024-04", "s", "r", a), false},
		{"another rule", DeliveryKey("aoi", "2024-03_2024-03", "s", "r2", a), false},
		{"another subscription", DeliveryKey("aoi", "2024-03_2024-03", "s2", "r", a), false},
		{"another aoi", DeliveryKey("aoi2", "2024-03_2024-03", "s", "r", a), false},
		{"another channel", DeliveryKey("aoi", "2024-03_2024-03", "s", "r", hook), false},
	}
	for _, tt := range tests {
		if (tt.key == k) != tt.same {
			t.Errorf("%s: key %s against %s", tt.name, tt.key, k)
		}
	}
	if !strings.HasPrefix(k, "nd-") || len(k) != 35 {
		t.Fatalf("key %q", k)
	}
}

func TestNotifyRetryDelay(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{{0, 30 * time.Second}, {1, 30 * time.Second}, {2, time.Minute}, {5, 8 * time.Minute}, {8, time.Hour}, {12, time.Hour}}
	for _, tt := range tests {
		if got := NotifyRetryDelay(tt.n); got != tt.want {
			t.Errorf("NotifyRetryDelay(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestDetectRefusesNotifyQueue(t *testing.T) {
	r := DetectRequest{Version: PayloadVersion}
	if _, err := NewDetectTask(r, QueueNotify); err == nil || !strings.Contains(err.Error(), "queue") {
		t.Fatalf("a detection on the notify queue: %v", err)
	}
}
