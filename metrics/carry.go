package metrics

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/baton-go/baton"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// The carried metrics travel to the master as flat names and values: one
// per counter, and per histogram one per bucket, the sum and the count.
// A name is the server, the family, the label values and the part, joined
// by sep, which no label value of baton's holds.
const sep = "\x00"

// Parts of a flat name.
const (
	partValue = "v" // a counter
	partSum   = "s" // a histogram's sum
	partCount = "c" // its count
	partLE    = "b" // a bucket, followed by sep and the bound's index
)

// scrapeTimeout bounds the wait for the master's totals.
const scrapeTimeout = 5 * time.Second

// counters flattens the carried metrics of this worker, for
// baton.CarryCounters.
func (m *Metrics) counters() map[string]float64 {
	fams, err := m.carried.Gather()
	if err != nil {
		return nil
	}
	out := make(map[string]float64)
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			base := m.server + sep + f.GetName() + sep + labelValues(mt)
			switch {
			case mt.Counter != nil:
				out[base+partValue] = mt.Counter.GetValue()
			case mt.Histogram != nil:
				h := mt.Histogram
				out[base+partSum] = h.GetSampleSum()
				out[base+partCount] = float64(h.GetSampleCount())
				for i, b := range h.GetBucket() {
					out[base+partLE+sep+string(rune('0'+i))] = float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return out
}

// labelValues joins the values of the labels method, route and status of
// mt, each followed by sep. (The server is in the name's prefix.)
func labelValues(mt *dto.Metric) string {
	var v [3]string
	for _, l := range mt.GetLabel() {
		switch l.GetName() {
		case "method":
			v[0] = l.GetValue()
		case "route":
			v[1] = l.GetValue()
		case "status":
			v[2] = l.GetValue()
		}
	}
	return v[0] + sep + v[1] + sep + v[2] + sep
}

// Handler returns the handler that serves the metrics: the request
// counters and histograms summed over the program's workers, the process
// model's figures, and the registry's. Enable binds it.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), scrapeTimeout)
		tot, err := baton.CarriedTotals(ctx)
		cancel()
		values := tot.Counters
		if err != nil {
			// The master is gone: this worker is draining. Its own
			// counts are all it has.
			values = m.counters()
		}
		carried := m.rebuild(values)
		stats := statsFamilies(m.server, tot.Stats, err == nil)
		g := prometheus.Gatherers{
			prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return append(carried, stats...), nil }),
			m.reg,
		}
		promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, req)
	})
}

// rebuild makes the carried families of this server from flat values.
func (m *Metrics) rebuild(values map[string]float64) []*dto.MetricFamily {
	prefix := m.server + sep
	type series struct {
		labels []string
		m      *dto.Metric
	}
	fams := map[string]map[string]*series{} // family -> label values -> series
	for name, v := range values {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		fam, rest, ok := strings.Cut(rest, sep)
		if !ok {
			continue
		}
		parts := strings.Split(rest, sep)
		if len(parts) < 4 { // method, route, status, part
			continue
		}
		lv := parts[:3]
		key := strings.Join(lv, sep)
		byLabels := fams[fam]
		if byLabels == nil {
			byLabels = map[string]*series{}
			fams[fam] = byLabels
		}
		s := byLabels[key]
		if s == nil {
			s = &series{labels: lv, m: &dto.Metric{}}
			byLabels[key] = s
		}
		switch parts[3] {
		case partValue:
			s.m.Counter = &dto.Counter{Value: &v}
		case partSum:
			hist(s.m).SampleSum = &v
		case partCount:
			n := uint64(v)
			hist(s.m).SampleCount = &n
		case partLE:
			if len(parts) < 5 || len(parts[4]) != 1 {
				continue
			}
			i := int(parts[4][0] - '0')
			bounds := bucketsOf(fam)
			if i < 0 || i >= len(bounds) {
				continue
			}
			h := hist(s.m)
			for len(h.Bucket) <= i {
				h.Bucket = append(h.Bucket, &dto.Bucket{})
			}
			n := uint64(v)
			ub := bounds[i]
			h.Bucket[i].CumulativeCount, h.Bucket[i].UpperBound = &n, &ub
		}
	}
	var out []*dto.MetricFamily
	for _, fam := range []string{"baton_http_requests_total", "baton_http_request_duration_seconds", "baton_http_response_size_bytes"} {
		byLabels := fams[fam]
		if len(byLabels) == 0 {
			continue
		}
		f := &dto.MetricFamily{Name: &fam, Help: proto(helpOf(fam))}
		if fam == "baton_http_requests_total" {
			f.Type = dto.MetricType_COUNTER.Enum()
		} else {
			f.Type = dto.MetricType_HISTOGRAM.Enum()
		}
		keys := make([]string, 0, len(byLabels))
		for k := range byLabels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			s := byLabels[k]
			if (f.GetType() == dto.MetricType_COUNTER) != (s.m.Counter != nil) {
				continue
			}
			if h := s.m.Histogram; h != nil && !wholeHistogram(h, len(bucketsOf(fam))) {
				continue
			}
			s.m.Label = []*dto.LabelPair{ // sorted by name, as the client has them
				{Name: proto("method"), Value: proto(s.labels[0])},
				{Name: proto("route"), Value: proto(s.labels[1])},
				{Name: proto("server"), Value: proto(m.server)},
				{Name: proto("status"), Value: proto(s.labels[2])},
			}
			f.Metric = append(f.Metric, s.m)
		}
		out = append(out, f)
	}
	return out
}

func hist(m *dto.Metric) *dto.Histogram {
	if m.Histogram == nil {
		m.Histogram = &dto.Histogram{}
	}
	return m.Histogram
}

// wholeHistogram reports whether every part of h arrived.
func wholeHistogram(h *dto.Histogram, buckets int) bool {
	if h.SampleCount == nil || h.SampleSum == nil || len(h.Bucket) != buckets {
		return false
	}
	for _, b := range h.Bucket {
		if b.CumulativeCount == nil {
			return false
		}
	}
	return true
}

func bucketsOf(fam string) []float64 {
	if fam == "baton_http_response_size_bytes" {
		return DefaultSizeBuckets
	}
	return DefaultDurationBuckets
}

func helpOf(fam string) string {
	switch fam {
	case "baton_http_requests_total":
		return "Requests answered, by method, route pattern and status, over every worker of the program."
	case "baton_http_request_duration_seconds":
		return "Time from the start of the route's chain to its end, over every worker of the program."
	}
	return "Response body sizes, over every worker of the program."
}

func proto[T any](v T) *T { return &v }
