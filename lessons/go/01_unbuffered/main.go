// Lesson 01 in Go: a hand-to-hand channel (rendezvous).
//
// The twin of lessons/src/bin/01_unbuffered.rs. A ward nurse sends a blood
// sample to the lab through a pneumatic tube with no room inside: the
// nurse's send completes only when the lab takes the sample out. Each side's
// waiting shows in the timestamps.
//
// This is Go's default channel, make(chan Sample): no crate needed, where
// tokio's channels all have room for at least one message.
//
// Run: go run ./lessons/go/01_unbuffered      (go test ./lessons/go/01_unbuffered: fake clock)
package main

import (
	"time"

	"async-clinic/lessons/go/clinic"
)

func main() {
	clinic.Main(run)
}

// ANCHOR: lesson
func run() {
	// No capacity: the tube holds nothing, the hand-off is the only way through.
	tube := make(chan string)
	labDone := make(chan struct{})

	go func() {
		defer close(labDone)
		// The lab is busy with earlier work for 1.5 s before it looks at the tube.
		time.Sleep(clinic.Ms(1_500))
		for range 2 {
			clinic.Say("lab: free, reaching into the tube")
			waitingSince := time.Now()
			sample := <-tube
			waited := clinic.HalfSeconds(time.Since(waitingSince))
			clinic.Say("lab: took %s (waited %.1f s for it)", sample, waited)
			// Analysing takes a second; only then does the lab look again.
			time.Sleep(clinic.Ms(1_000))
		}
	}()

	for _, sample := range []string{"P-001's sample", "P-002's sample"} {
		clinic.Say("nurse: %s ready, holding it out to the tube", sample)
		holdingSince := time.Now()
		// Returns only when the lab's receive has taken the sample.
		tube <- sample
		held := clinic.HalfSeconds(time.Since(holdingSince))
		clinic.Say("nurse: handed over %s (held it %.1f s)", sample, held)
		// Labelling the next tube takes the nurse 1.5 s.
		time.Sleep(clinic.Ms(1_500))
	}
	<-labDone

	clinic.Say("why no crate: Go's make(chan string) has capacity %d", cap(tube))
}

// ANCHOR_END: lesson
