package main

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/parleytest"
)

func TestParseTimer(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"off": 0, "OFF": 0, "0": 0, "5m": 5 * time.Minute, "1h": time.Hour, "7d": 7 * 24 * time.Hour,
		"1w": 7 * 24 * time.Hour, "30s": 30 * time.Second, "1h30m": 90 * time.Minute, "365d": 365 * 24 * time.Hour,
	} {
		if got, err := parseTimer(in); err != nil || got != want {
			t.Errorf("parseTimer(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "10s", "366d", "-5m", "5", "1.5d", "soon", "1y"} {
		if got, err := parseTimer(in); err == nil {
			t.Errorf("parseTimer(%q) = %v, want an error", in, got)
		}
	}
}

func TestTimerText(t *testing.T) {
	for secs, want := range map[uint32]string{0: "off", 30: "30 seconds", 60: "1 minute", 300: "5 minutes", 3600: "1 hour",
		86400: "1 day", 604800: "1 week", 1209600: "2 weeks", 90: "90 seconds", 5400: "90 minutes"} {
		if got := timerText(secs); got != want {
			t.Errorf("timerText(%d) = %q, want %q", secs, got, want)
		}
	}
}

// TestTimerFromTheCLI: `parley timer` sets and shows a DM's timer, with
// --json; the other side sees it and its event; a message sent then shows
// expires_at in `messages --json`, an hour after sent_at; a timer out of
// range is refused with a clear error and changes nothing.
func TestTimerFromTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	parleytest.Meet(alice, bob)

	if out := alice.CLI("timer", "bob"); !strings.Contains(out, "disappearing messages: off") {
		t.Errorf("timer before any is set: %q", out)
	}
	for _, bad := range []string{"10s", "400d", "soon"} {
		out, code := alice.Try("timer", "bob", bad)
		if code == 0 || !strings.Contains(out, "malformed") {
			t.Errorf("timer %s: exit %d, %q; want a refusal", bad, code, out)
		}
	}
	var set struct {
		Seconds uint32 `json:"seconds"`
		SetBy   string `json:"set_by"`
	}
	alice.CLIJSON(&set, "timer", "bob", "1h", "--json")
	if set.Seconds != 3600 || set.SetBy == "" {
		t.Fatalf("timer bob 1h --json: %+v", set)
	}
	type msg struct {
		Kind         string     `json:"kind"`
		Text         string     `json:"text"`
		SentAt       time.Time  `json:"sent_at"`
		ExpiresAt    *time.Time `json:"expires_at"`
		TimerSeconds uint32     `json:"timer_seconds"`
	}
	parleytest.Eventually(t, "bob seeing the timer", func() bool {
		return strings.Contains(bob.CLI("timer", "alice"), "disappearing messages: 1 hour (set by alice")
	})
	alice.CLI("send", "bob", "gone within the hour")
	parleytest.Eventually(t, "bob listing the event and the message", func() bool {
		var ms []msg
		bob.CLIJSON(&ms, "messages", "alice", "--limit", "0")
		if len(ms) != 2 {
			return false
		}
		ev, m := ms[0], ms[1]
		return ev.Kind == "timer" && ev.TimerSeconds == 3600 && ev.ExpiresAt == nil &&
			m.Text == "gone within the hour" && m.ExpiresAt != nil && m.ExpiresAt.Sub(m.SentAt) == time.Hour
	})
	if out := bob.CLI("messages", "alice"); !strings.Contains(out, "alice → you: [set disappearing messages to 1 hour]") || !strings.Contains(out, "(disappears ") {
		t.Errorf("messages shows:\n%s", out)
	}
}
