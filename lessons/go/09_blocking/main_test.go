package main

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"async-clinic/lessons/go/clinic/clinictest"
)

func TestTranscript(t *testing.T) {
	clinictest.Transcript(t, run)
}

// The transcript's de-identification sleeps, because work on the CPU takes
// no time on the fake clock. This is the CPU work, on the real clock: on one
// thread, a goroutine spins until another goroutine's 50 ms timer has fired.
// Without preemption the spinner would keep the only thread, the timer's
// goroutine could never run, and the loop would not end.
func TestABusyGoroutineIsPreempted(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var fired atomic.Bool
	go func() {
		time.Sleep(50 * time.Millisecond)
		fired.Store(true)
	}()
	// No function call in the loop, so no point where the spinner would
	// yield on its own: only the runtime's preemption lets the timer run.
	// 2^33 spins take seconds; the timer needs 50 ms.
	for spins := 0; !fired.Load(); spins++ {
		if spins == 1<<33 {
			t.Fatal("the timer's goroutine never ran while this one spun")
		}
	}
}
