package metrics

import (
	"os"
	"strconv"
	"strings"

	"github.com/baton-go/baton/proc"
	dto "github.com/prometheus/client_model/go"
)

// statsFamilies makes the families of the process model from the master's
// figures. Without them (master gone), only the worker's memory is known.
func statsFamilies(server string, st proc.Stats, known bool) []*dto.MetricFamily {
	sl := []*dto.LabelPair{{Name: proto("server"), Value: proto(server)}}
	gauge := func(name, help string, v float64) *dto.MetricFamily {
		return &dto.MetricFamily{Name: proto(name), Help: proto(help), Type: dto.MetricType_GAUGE.Enum(),
			Metric: []*dto.Metric{{Label: sl, Gauge: &dto.Gauge{Value: proto(v)}}}}
	}
	counter := func(name, help string, v float64) *dto.MetricFamily {
		return &dto.MetricFamily{Name: proto(name), Help: proto(help), Type: dto.MetricType_COUNTER.Enum(),
			Metric: []*dto.Metric{{Label: sl, Counter: &dto.Counter{Value: proto(v)}}}}
	}
	out := []*dto.MetricFamily{
		gauge("baton_worker_resident_memory_bytes", "Resident memory of the worker that answers this scrape.", float64(selfRSS())),
	}
	if !known {
		return out
	}
	respawns := 0
	reloads := &dto.MetricFamily{Name: proto("baton_reloads_total"), Type: dto.MetricType_COUNTER.Enum(),
		Help: proto("Reloads, restarts and respawns of the worker, by kind, trigger and outcome.")}
	for _, e := range st.Events {
		outcome := "failure"
		if e.OK {
			outcome = "success"
		}
		if e.Kind == "respawn" && e.OK {
			respawns += e.N
		}
		reloads.Metric = append(reloads.Metric, &dto.Metric{
			Label: []*dto.LabelPair{
				{Name: proto("kind"), Value: proto(e.Kind)},
				{Name: proto("outcome"), Value: proto(outcome)},
				{Name: proto("server"), Value: proto(server)},
				{Name: proto("trigger"), Value: proto(e.Trigger)},
			},
			Counter: &dto.Counter{Value: proto(float64(e.N))},
		})
	}
	handoff := &dto.Histogram{SampleCount: proto(st.HandOff.Count), SampleSum: proto(st.HandOff.Sum)}
	for i, b := range proc.HandOffBounds {
		var n uint64
		if i < len(st.HandOff.Counts) {
			n = st.HandOff.Counts[i]
		}
		handoff.Bucket = append(handoff.Bucket, &dto.Bucket{UpperBound: proto(b), CumulativeCount: proto(n)})
	}
	out = append(out,
		gauge("baton_worker_generation", "Generation of the serving worker: 1 for the first, one more for each worker started.", float64(st.Generation)),
		counter("baton_worker_crashes_total", "Workers that died without being asked to.", float64(st.Crashes)),
		counter("baton_worker_respawns_total", "Workers started in place of one that died.", float64(respawns)),
		gauge("baton_draining_workers", "Old workers still draining.", float64(st.DrainingWorkers)),
		gauge("baton_draining_connections", "Connections the draining workers reported open last.", float64(st.DrainingConns)),
		gauge("baton_master_resident_memory_bytes", "Resident memory of the master.", float64(st.MasterRSS)),
		&dto.MetricFamily{Name: proto("baton_reload_handoff_seconds"), Type: dto.MetricType_HISTOGRAM.Enum(),
			Help:   proto("Time from a reload's trigger to its new worker being ready, of the reloads that succeeded."),
			Metric: []*dto.Metric{{Label: sl, Histogram: handoff}}},
	)
	if len(reloads.Metric) > 0 {
		out = append(out, reloads)
	}
	if st.CanaryPromoted+st.CanaryRolledBack > 0 {
		canary := &dto.MetricFamily{Name: proto("baton_canary_reloads_total"), Type: dto.MetricType_COUNTER.Enum(),
			Help: proto("Canary reloads by verdict: the new worker promoted or rolled back.")}
		for _, v := range []struct {
			verdict string
			n       int
		}{{"promoted", st.CanaryPromoted}, {"rolled_back", st.CanaryRolledBack}} {
			canary.Metric = append(canary.Metric, &dto.Metric{
				Label:   []*dto.LabelPair{{Name: proto("server"), Value: proto(server)}, {Name: proto("verdict"), Value: proto(v.verdict)}},
				Counter: &dto.Counter{Value: proto(float64(v.n))},
			})
		}
		out = append(out, canary)
	}
	return out
}

// selfRSS returns the resident memory of this process in bytes, or 0
// where /proc does not tell.
func selfRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
