package identity

import (
	"fmt"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb"
)

// checkTimerSeconds checks a timer on the wire (Timer.seconds, or the
// expire_seconds a text or file carries): 0, or parley.MinTimer to
// parley.MaxTimer.
func checkTimerSeconds(what string, s uint32) error {
	if err := parley.CheckTimer(time.Duration(s) * time.Second); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// TimerBody is the body that sets a conversation's disappearing-messages
// timer to d (0: off); a d out of range is refused (parley.CheckTimer).
func TimerBody(d time.Duration) (*pb.Body, error) {
	if err := parley.CheckTimer(d); err != nil {
		return nil, err
	}
	return &pb.Body{Kind: &pb.Body_Timer{Timer: &pb.Timer{Seconds: uint32(d / time.Second)}}}, nil
}

// WithTimer sets the expire_seconds of a text or file offer body to the
// conversation's timer, seconds; other bodies do not expire and are left
// alone.
func WithTimer(body *pb.Body, seconds uint32) {
	switch b := body.GetKind().(type) {
	case *pb.Body_Text:
		b.Text.ExpireSeconds = seconds
	case *pb.Body_FileOffer:
		b.FileOffer.ExpireSeconds = seconds
	}
}

// ExpireSeconds is the timer a text or file offer body carries (0: none).
func ExpireSeconds(body *pb.Body) uint32 {
	switch b := body.GetKind().(type) {
	case *pb.Body_Text:
		return b.Text.GetExpireSeconds()
	case *pb.Body_FileOffer:
		return b.FileOffer.GetExpireSeconds()
	}
	return 0
}
