// Lesson 02 in Go: a channel with room inside (a buffer).
//
// The twin of lessons/src/bin/02_buffered.rs. Outside the lab door stands a
// specimen basket with three slots. The front desk drops patients' reports
// into it and goes straight back to its queue; the lab fishes them out when it
// is free. While the basket has a free slot a send finishes at once; once it
// is full, the desk waits for the lab again, as in lesson 01.
//
// Each line shows the basket's fill as a gauge, `[##.] 2/3`, read with
// len(basket) and cap(basket).
//
// Run: go run ./lessons/go/02_buffered      (go test ./lessons/go/02_buffered: fake clock)
package main

import (
	"fmt"
	"strings"
	"time"

	"async-clinic/lessons/go/clinic"
)

func main() {
	clinic.Main(run)
}

// ANCHOR: lesson
func run() {
	// ANCHOR: basket
	// Three slots: the first three sends complete without anyone receiving.
	basket := make(chan string, 3)
	// ANCHOR_END: basket
	labDone := make(chan struct{})

	go func() {
		defer close(labDone)
		// The lab finishes earlier work before it first looks in the basket.
		time.Sleep(clinic.Ms(1_000))
		// Ends once the desk has closed the basket and it is empty.
		for report := range basket {
			gauge := gauge(len(basket), cap(basket))
			clinic.Say("lab:  took %s out               %s", report, gauge)
			// Analysing one report takes the lab a full second.
			time.Sleep(clinic.Ms(1_000))
		}
		clinic.Say("lab:  basket empty and closed, the lab goes home")
	}()

	// ANCHOR: desk
	for patient := 1; patient <= 5; patient++ {
		report := fmt.Sprintf("P-00%d", patient)
		// A full basket means this send will wait.
		if len(basket) == cap(basket) {
			clinic.Say("desk: basket full, %s has to wait for the lab", report)
		}
		since := time.Now()
		basket <- report
		waited := clinic.HalfSeconds(time.Since(since))
		gauge := gauge(len(basket), cap(basket))
		clinic.Say("desk: put  %s in (waited %.1f s) %s", report, waited, gauge)
	}
	// ANCHOR_END: desk

	// Closing the basket: reports already inside stay there for the lab.
	clinic.Say("desk: all reports handed in, closing the basket")
	close(basket)
	<-labDone
}

// ANCHOR_END: lesson

// ANCHOR: gauge
// gauge is "basket [##.] 2/3": one # per full slot, one . per free one.
func gauge(fill, capacity int) string {
	slots := strings.Repeat("#", fill) + strings.Repeat(".", capacity-fill)
	return fmt.Sprintf("basket [%s] %d/%d", slots, fill, capacity)
}

// ANCHOR_END: gauge
