package main

import (
	"testing"

	"async-clinic/lessons/go/clinic/clinictest"
)

// run never returns: it ends with every goroutine blocked. On the real clock
// the runtime aborts (transcripts/05_deadlock.stderr); in the bubble synctest
// reports it.
func TestTranscript(t *testing.T) {
	clinictest.Transcript(t, run, clinictest.Deadlocks())
}
