package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"

	"github.com/changewatch/changewatch/jobs"
)

// Subscription is who wants to hear about an AOI and when: channels (one webhook, e-mail
// addresses) and rules. In a watch list file it is one element of the "subscriptions"
// property:
//
//	"subscriptions": [{
//	  "id": "okapi-team",
//	  "webhook": {"url": "https://hooks.example.org/changewatch", "secret_env": "CHANGEWATCH_WEBHOOK_SECRET_OKAPI"},
//	  "email": ["gis@example.org"],
//	  "rules": [
//	    {"id": "new-in-reserve", "new": true, "in_protected_area": true, "min_confidence": 0.6},
//	    {"id": "growing-near-mines", "growth_ha": 1, "growth_pct": 25, "near_mine_km": 5,
//	     "classes": ["vegetation_to_bare", "vegetation_to_water"]}]}]
//
// Each rule is delivered to each channel on its own: one delivery per (AOI, run, rule,
// channel), where every e-mail address is a channel of its own.
type Subscription struct {
	ID      string   `json:"id"`
	Webhook *Webhook `json:"webhook,omitempty"`
	Email   []string `json:"email,omitempty"`
	Rules   []Rule   `json:"rules"`
}

// Webhook is a subscription's HTTP endpoint. The body is signed with the worker's
// webhook secret, or with the secret in the environment variable SecretEnv (which must
// start with CHANGEWATCH_WEBHOOK_SECRET_) when set: the watch list names secrets, it
// never holds them.
type Webhook struct {
	URL       string `json:"url"`
	SecretEnv string `json:"secret_env,omitempty"`
}

// Rule selects incidents of a run. An incident triggers it when it is new in the run
// (New) or grew since its previous run by at least GrowthHa hectares or GrowthPct
// percent (either threshold that is set), and passes every filter that is set: inside a
// protected area, within NearMineKm of an IPIS mining site, at least MinConfidence, one
// of Classes. Incidents a reviewer rejected, and incidents merged into another, never
// trigger.
type Rule struct {
	ID              string   `json:"id"`
	New             bool     `json:"new,omitempty"`
	GrowthHa        float64  `json:"growth_ha,omitempty"`
	GrowthPct       float64  `json:"growth_pct,omitempty"`
	InProtectedArea bool     `json:"in_protected_area,omitempty"`
	NearMineKm      float64  `json:"near_mine_km,omitempty"`
	MinConfidence   float64  `json:"min_confidence,omitempty"`
	Classes         []string `json:"classes,omitempty"`
}

// Bounds of the subscriptions of one AOI.
const (
	MaxSubscriptions = 50
	MaxRules         = 20
)

// Classes are the change classes a rule may name.
var Classes = []string{"vegetation_to_bare", "vegetation_to_water", "burn_scar"}

var secretEnvPattern = regexp.MustCompile(`^CHANGEWATCH_WEBHOOK_SECRET_[A-Z0-9_]{1,64}$`)

// ParseSubscriptions decodes and validates the "subscriptions" property of a watch list
// file (raw is the property's JSON; null or absent is no subscription). Unknown fields
// are refused, so a misspelt rule does not silently match everything. Errors name the
// field, e.g. subscriptions[0].rules[1].min_confidence.
func ParseSubscriptions(raw []byte) ([]Subscription, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var subs []Subscription
	if err := dec.Decode(&subs); err != nil {
		return nil, fmt.Errorf("subscriptions: %w", err)
	}
	if err := Validate(subs); err != nil {
		return nil, err
	}
	return subs, nil
}

// Validate checks the subscriptions of one AOI and names the first bad field.
func Validate(subs []Subscription) error {
	if len(subs) > MaxSubscriptions {
		return fmt.Errorf("subscriptions: %d, at most %d", len(subs), MaxSubscriptions)
	}
	seen := map[string]bool{}
	for i := range subs {
		s := &subs[i]
		field := fmt.Sprintf("subscriptions[%d]", i)
		if err := s.validate(); err != nil {
			return fmt.Errorf("%s.%w", field, err)
		}
		if seen[s.ID] {
			return fmt.Errorf("%s.id: %q is used twice (ids name deliveries)", field, s.ID)
		}
		seen[s.ID] = true
	}
	return nil
}

func (s *Subscription) validate() error {
	if !jobs.ValidID(s.ID) {
		return fmt.Errorf("id: %q is not an id (1-128 letters, digits, '.', '_', '-')", s.ID)
	}
	if s.Webhook == nil && len(s.Email) == 0 {
		return fmt.Errorf("webhook/email: no channel: set webhook, email or both")
	}
	if s.Webhook != nil {
		if err := jobs.ValidateWebhookURL(s.Webhook.URL); err != nil {
			return fmt.Errorf("webhook.%w", err)
		}
		if s.Webhook.SecretEnv != "" && !secretEnvPattern.MatchString(s.Webhook.SecretEnv) {
			return fmt.Errorf("webhook.secret_env: %q must be CHANGEWATCH_WEBHOOK_SECRET_ and upper-case letters, digits or '_'", s.Webhook.SecretEnv)
		}
	}
	if len(s.Email) > jobs.MaxNotifyRecipients {
		return fmt.Errorf("email: %d addresses, at most %d", len(s.Email), jobs.MaxNotifyRecipients)
	}
	for j, a := range s.Email {
		if err := jobs.ValidateEmailAddress(a); err != nil {
			return fmt.Errorf("email[%d]: %q is not a bare e-mail address", j, a)
		}
		if slices.Contains(s.Email[:j], a) {
			return fmt.Errorf("email[%d]: %q is listed twice", j, a)
		}
	}
	if len(s.Rules) == 0 || len(s.Rules) > MaxRules {
		return fmt.Errorf("rules: want 1 to %d rules, got %d", MaxRules, len(s.Rules))
	}
	ids := map[string]bool{}
	for j := range s.Rules {
		if err := s.Rules[j].validate(); err != nil {
			return fmt.Errorf("rules[%d].%w", j, err)
		}
		if ids[s.Rules[j].ID] {
			return fmt.Errorf("rules[%d].id: %q is used twice", j, s.Rules[j].ID)
		}
		ids[s.Rules[j].ID] = true
	}
	return nil
}

func (r *Rule) validate() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case !jobs.ValidID(r.ID):
		return fmt.Errorf("id: %q is not an id", r.ID)
	case !r.New && r.GrowthHa == 0 && r.GrowthPct == 0:
		return fmt.Errorf("new: the rule never triggers: set new, growth_ha or growth_pct")
	case bad(r.GrowthHa) || r.GrowthHa < 0 || r.GrowthHa > 1e6:
		return fmt.Errorf("growth_ha: %v, want 0 to 1000000 hectares", r.GrowthHa)
	case bad(r.GrowthPct) || r.GrowthPct < 0 || r.GrowthPct > 10000:
		return fmt.Errorf("growth_pct: %v, want 0 to 10000 %%", r.GrowthPct)
	case bad(r.NearMineKm) || r.NearMineKm < 0 || r.NearMineKm > 1000:
		return fmt.Errorf("near_mine_km: %v, want 0 to 1000 km", r.NearMineKm)
	case bad(r.MinConfidence) || r.MinConfidence < 0 || r.MinConfidence > 1:
		return fmt.Errorf("min_confidence: %v, want 0 to 1", r.MinConfidence)
	}
	for k, c := range r.Classes {
		if !slices.Contains(Classes, c) {
			return fmt.Errorf("classes[%d]: %q is not one of %v", k, c, Classes)
		}
		if slices.Contains(r.Classes[:k], c) {
			return fmt.Errorf("classes[%d]: %q is listed twice", k, c)
		}
	}
	return nil
}

// Reason says why an incident triggered a rule: "new", or "grew" with the growth.
type Reason struct {
	New      bool    `json:"new"`
	GrowthHa float64 `json:"growth_ha,omitempty"`
	// GrowthPct is the growth in percent of the previous area.
	GrowthPct float64 `json:"growth_pct,omitempty"`
}

// Match is an incident that triggered a rule, and why.
type Match struct {
	Incident *Incident
	Reason   Reason
}

// Select returns the incidents of l that trigger r in run, in the ledger's order.
func (r *Rule) Select(l *Ledger, run string) []Match {
	var out []Match
	for i := range l.Incidents {
		inc := &l.Incidents[i]
		if reason, ok := r.triggers(inc, run); ok {
			out = append(out, Match{Incident: inc, Reason: reason})
		}
	}
	return out
}

func (r *Rule) triggers(inc *Incident, run string) (Reason, bool) {
	if !inc.SeenIn(run) || inc.Status == "rejected" || inc.MergedInto != "" {
		return Reason{}, false
	}
	var reason Reason
	switch {
	case r.New && inc.NewIn(run):
		reason.New = true
	case r.GrowthHa > 0 || r.GrowthPct > 0:
		ha, share, ok := inc.Growth(run)
		if !ok || ha <= 0 || !((r.GrowthHa > 0 && ha >= r.GrowthHa) || (r.GrowthPct > 0 && share*100 >= r.GrowthPct)) {
			return Reason{}, false
		}
		reason.GrowthHa, reason.GrowthPct = round2(ha), round2(share*100)
	default:
		return Reason{}, false
	}
	switch {
	case r.InProtectedArea && inc.ProtectedArea == "":
		return Reason{}, false
	case r.NearMineKm > 0 && (inc.MineName == "" || inc.MineDistanceKm == nil || *inc.MineDistanceKm > r.NearMineKm):
		return Reason{}, false
	case inc.MaxConfidence < r.MinConfidence:
		return Reason{}, false
	case len(r.Classes) > 0 && !slices.Contains(r.Classes, inc.Class):
		return Reason{}, false
	}
	return reason, true
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// Delivery is one (rule, channel) of a subscription with what it selected in a run.
type Delivery struct {
	Subscription *Subscription
	Rule         *Rule
	Channel      jobs.Channel
	Matches      []Match
}

// Deliveries returns what the subscriptions have to say about run: one Delivery per
// (subscription rule, channel) whose rule selects at least one incident. Every e-mail
// address is a channel of its own, so a retry after one address failed does not write
// to the others again. The ledger's first run is the baseline of the monitoring: what
// it maps was there before, and it alerts nobody (its report still lists it).
func Deliveries(subs []Subscription, l *Ledger, run string) []Delivery {
	var out []Delivery
	if len(l.Runs) == 0 || l.Runs[0] == run {
		return nil
	}
	for i := range subs {
		s := &subs[i]
		var chans []jobs.Channel
		if s.Webhook != nil {
			chans = append(chans, jobs.Channel{Kind: jobs.ChannelWebhook, URL: s.Webhook.URL})
		}
		for _, a := range s.Email {
			chans = append(chans, jobs.Channel{Kind: jobs.ChannelEmail, To: []string{a}})
		}
		for j := range s.Rules {
			r := &s.Rules[j]
			m := r.Select(l, run)
			if len(m) == 0 {
				continue
			}
			for _, c := range chans {
				out = append(out, Delivery{Subscription: s, Rule: r, Channel: c, Matches: m})
			}
		}
	}
	return out
}
