package identity

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb"
)

func inRange(s uint32) bool { return s == 0 || s >= 30 && s <= 365*86400 }

// TestTimerRange: a timer, and the expiry a text or file carries, is 0 or
// 30 s to 365 days; anything else is refused, sent or received.
func TestTimerRange(t *testing.T) {
	for _, s := range []uint32{0, 1, 29, 30, 300, 3600, 365 * 86400, 365*86400 + 1, 1 << 31, ^uint32(0)} {
		raw, err := proto.Marshal(&pb.Body{Kind: &pb.Body_Timer{Timer: &pb.Timer{Seconds: s}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = decodeBody(raw)
		if inRange(s) != (err == nil) || err != nil && !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("timer of %d s: %v", s, err)
		}
		if _, err := TimerBody(time.Duration(s) * time.Second); inRange(s) != (err == nil) {
			t.Errorf("TimerBody(%d s): %v", s, err)
		}
		raw, _ = proto.Marshal(&pb.Body{Kind: &pb.Body_Text{Text: &pb.Text{Text: "hi", ExpireSeconds: s}}})
		if _, err := decodeBody(raw); inRange(s) != (err == nil) {
			t.Errorf("a text expiring after %d s: %v", s, err)
		}
	}
	if _, err := TimerBody(90*time.Second + time.Millisecond); err == nil {
		t.Error("a timer of a fraction of a second was taken")
	}
}

// FuzzTimerBody: whatever the seconds, a body holding a timer, or a text
// carrying one, is taken exactly when they are in range, read back
// unchanged, and refused with ErrMalformed otherwise.
func FuzzTimerBody(f *testing.F) {
	for _, s := range []uint32{0, 29, 30, 3600, 365 * 86400, 365*86400 + 1} {
		f.Add(s, uint32(0), false)
		f.Add(s, s, true)
	}
	f.Fuzz(func(t *testing.T, timer, expire uint32, asText bool) {
		body := &pb.Body{Kind: &pb.Body_Timer{Timer: &pb.Timer{Seconds: timer}}}
		want := timer
		if asText {
			body = &pb.Body{Kind: &pb.Body_Text{Text: &pb.Text{Text: "x", ExpireSeconds: expire}}}
			want = expire
		}
		raw, err := proto.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeBody(raw)
		if !inRange(want) {
			if err == nil || !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("%d s taken, or refused without ErrMalformed: %v", want, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%d s refused: %v", want, err)
		}
		if asText && ExpireSeconds(got) != want || !asText && got.GetTimer().GetSeconds() != want {
			t.Fatalf("read back %v, want %d s", got, want)
		}
	})
}
