package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/client"
)

// progress shows a transfer as it goes: a bar on a terminal, nothing
// elsewhere (scripts get the command's final line only).
type progress interface {
	update(f client.FileView)
	// done ends the display; the command's own output follows.
	done()
}

// newProgress draws on w when w is a terminal.
func newProgress(w io.Writer) progress {
	if !isTerminal(w) {
		return quiet{}
	}
	return &bar{w: w, width: termWidth(), now: time.Now}
}

type quiet struct{}

func (quiet) update(client.FileView) {}
func (quiet) done()                  {}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// termWidth is $COLUMNS, else 80: the bar fits in it.
func termWidth() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n >= 40 {
		return n
	}
	return 80
}

// Redraws are at most this often; the last state is always drawn.
const redrawEvery = 100 * time.Millisecond

// bar is one line, redrawn in place:
//
//	holiday video.mp4  45% [#######---------] 90/200 MiB  118 MiB/s  ETA 1s
type bar struct {
	w     io.Writer
	width int
	now   func() time.Time

	drawn    bool
	lastDraw time.Time
	// The rate is measured over half-second windows and smoothed; a
	// resumed transfer's first jump is not a rate.
	winStart time.Time
	winBytes int64
	rate     float64 // bytes per second; 0 until measured
}

func (b *bar) update(f client.FileView) {
	now := b.now()
	b.measure(now, f.BytesDone)
	final := f.State == parley.FileComplete || f.State == parley.FileFailed || f.State == parley.FileCanceled
	if b.drawn && !final && now.Sub(b.lastDraw) < redrawEvery {
		return
	}
	b.lastDraw, b.drawn = now, true
	fmt.Fprintf(b.w, "\r%s\x1b[K", b.line(f))
}

func (b *bar) done() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}

func (b *bar) measure(now time.Time, done int64) {
	switch {
	case b.winStart.IsZero() || done < b.winBytes:
		b.winStart, b.winBytes = now, done
	case now.Sub(b.winStart) >= 500*time.Millisecond:
		r := float64(done-b.winBytes) / now.Sub(b.winStart).Seconds()
		if b.rate == 0 {
			b.rate = r
		} else {
			b.rate = 0.6*b.rate + 0.4*r
		}
		b.winStart, b.winBytes = now, done
	}
}

// tailRoom is the room kept after the bar, enough for
// "1023/1023 MiB  1023 MiB/s  ETA 59m59s": the bar keeps its length as
// the numbers change. A narrow terminal leaves out the rate and the time
// left.
const tailRoom = 38

// line renders the file's state to fit the terminal's width: the name
// gives way, the numbers do not.
func (b *bar) line(f client.FileView) string {
	pct := 100
	if f.Size > 0 {
		pct = int(f.BytesDone * 100 / f.Size)
	}
	var tail string
	switch {
	case f.State == parley.FileOffered && f.Outgoing:
		tail = "waiting to be fetched"
	case f.State == parley.FileOffered:
		tail = "waiting"
	case f.State == parley.FileFailed:
		tail = "failed: " + f.Error
	case f.State == parley.FileCanceled:
		tail = "cancelled"
	case f.Error != "":
		tail = f.Error // "waiting for a direct connection"
	default:
		tail = humanPair(f.BytesDone, f.Size)
	}
	cells := min(30, max(10, (b.width-1)/5))
	room := min(tailRoom, b.width-1-len(" 100% [] ")-cells-8) // 8: the least of a name
	if b.rate > 0 && f.State == parley.FileTransferring && f.Error == "" {
		eta := time.Duration(float64(f.Size-f.BytesDone) / b.rate * float64(time.Second))
		if more := fmt.Sprintf("%s  %s/s  ETA %s", tail, humanBytes(int64(b.rate)), eta.Round(time.Second)); len(more) <= room {
			tail = more
		}
	}
	head := truncate(f.Name, max(8, b.width-1-len(" 100% [] ")-cells-room))
	filled := cells * pct / 100
	return fmt.Sprintf("%s %3d%% [%s%s] %s", head, pct,
		strings.Repeat("#", filled), strings.Repeat("-", cells-filled), truncate(tail, max(room, 8)))
}

// humanPair is "40/100 MiB", or "512 KiB/100 MiB" where the units differ.
func humanPair(done, size int64) string {
	d, s := humanBytes(done), humanBytes(size)
	du, su := d[strings.IndexByte(d, ' '):], s[strings.IndexByte(s, ' '):]
	if du == su {
		return strings.TrimSuffix(d, du) + "/" + s
	}
	return d + "/" + s
}

// truncate shortens s to n runes, with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
