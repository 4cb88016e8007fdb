package netns

import (
	"context"
	"io"
	"testing"
	"time"
)

// twoHosts puts two namespaces on a switch, a TCP echo server in the
// second, and returns a function that dials it from the first and echoes
// one line, within limit.
func twoHosts(t *testing.T) (*Switch, func(limit time.Duration) error) {
	Require(t)
	prefix := Prefix("pt")
	sw := NewSwitch(t, prefix, 1)
	for i, addr := range []string{"10.215.0.1/24", "10.215.0.2/24"} {
		ns := prefix + "h" + string(rune('0'+i))
		Add(t, ns)
		sw.Plug(ns, addr)
	}
	l, err := Listen(prefix+"h1", "tcp", "10.215.0.2:7000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	echo := func(limit time.Duration) error {
		ctx, cancel := context.WithTimeout(t.Context(), limit)
		defer cancel()
		c, err := Dial(ctx, prefix+"h0", "tcp", "10.215.0.2:7000")
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(limit))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		buf := make([]byte, 4)
		_, err = io.ReadFull(c, buf)
		return err
	}
	return sw, echo
}

// The switch carries frames, and stops carrying them across a partition
// or over a link that loses them all, until healed.
func TestSwitchPartitionAndLoss(t *testing.T) {
	sw, echo := twoHosts(t)
	if err := echo(5 * time.Second); err != nil {
		t.Fatalf("a clean link: %v", err)
	}
	sw.Partition([]int{1})
	if err := echo(time.Second); err == nil {
		t.Fatal("connected across a partition")
	}
	sw.Heal()
	if err := echo(5 * time.Second); err != nil {
		t.Fatalf("after the heal: %v", err)
	}
	sw.Impair(0, Impairment{Loss: 1})
	if err := echo(time.Second); err == nil {
		t.Fatal("connected over a link that loses every frame")
	}
	sw.Impair(0, Impairment{})
	if err := echo(5 * time.Second); err != nil {
		t.Fatalf("with the link clean again: %v", err)
	}
	if sw.Blocked.Load() == 0 || sw.Lost.Load() == 0 {
		t.Errorf("blocked %d, lost %d frames: want some of each", sw.Blocked.Load(), sw.Lost.Load())
	}
}

// A delayed link holds every frame at least its delay: a TCP handshake
// and an echo cross it four times. Duplicated frames arrive twice and
// TCP copes.
func TestSwitchDelayAndDuplicates(t *testing.T) {
	sw, echo := twoHosts(t)
	const delay = 100 * time.Millisecond
	sw.Impair(1, Impairment{Delay: delay, Duplicate: 1})
	start := time.Now()
	if err := echo(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 4*delay {
		t.Errorf("an echo over a %v link took %v, under four crossings", delay, took)
	}
	if sw.Duplicated.Load() == 0 {
		t.Error("no frame duplicated on a link that duplicates them all")
	}
}
