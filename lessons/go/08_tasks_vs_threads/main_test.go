package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"async-clinic/lessons/go/clinic/clinictest"
)

// First in this file on purpose: tests run in order, and the transcript's
// 50000 goroutines leave their stacks behind for the runtime to reuse, so a
// measurement after it would find them free.
//
// What a parked goroutine adds to resident memory, read from /proc as the
// Rust lesson reads it for a task (about 455 bytes there). The figure varies
// by machine, so the transcript leaves it out; go test -v prints it.
func TestMemoryOfAParkedGoroutine(t *testing.T) {
	before, ok := residentKB()
	if !ok {
		t.Skip("no /proc/self/status on this system")
	}
	running := runtime.NumGoroutine()
	signal := make(chan struct{})
	var ready, parked sync.WaitGroup
	ready.Add(goroutines)
	for range goroutines {
		parked.Go(func() {
			ready.Done()
			<-signal
		})
	}
	ready.Wait()
	after, _ := residentKB()
	close(signal)
	parked.Wait()
	// Wait() returns once each has said Done, a moment before the last
	// ones have ended: the transcript test counts goroutines from here.
	for runtime.NumGoroutine() > running {
		runtime.Gosched()
	}

	each := (after - before) * 1024 / goroutines
	t.Logf("+%.1f MB resident: %d bytes a goroutine (varies by machine)",
		float64(after-before)/1024, each)
	// A goroutine starts with a 2 KB stack (runtime/stack.go, stackMin),
	// and has a record of a few hundred bytes beside it: the chapter says
	// about 2,700 bytes.
	if each < 2_048 || each > 4_096 {
		t.Errorf("a parked goroutine added %d bytes; the chapter says 2 KB of "+
			"stack and a few hundred bytes more", each)
	}
}

func TestTranscript(t *testing.T) {
	clinictest.Transcript(t, run)
}

// residentKB is the process's resident memory in KiB, from /proc.
func residentKB() (int, bool) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(status)) {
		if rss, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rss = strings.TrimSuffix(strings.TrimSpace(rss), " kB")
			kb, err := strconv.Atoi(strings.TrimSpace(rss))
			return kb, err == nil
		}
	}
	return 0, false
}
