package proctest

import (
	"strconv"
	"strings"
)

// Metric returns the value of the sample of name in text, the Prometheus
// text format, whose labels include every "key=value" pair of labels, and
// whether there is one. Of several that match, it returns the sum.
func Metric(text, name string, labels ...string) (float64, bool) {
	sum, found := 0.0, false
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ') // label values may hold spaces
		if i < 0 {
			continue
		}
		series, value := line[:i], line[i+1:]
		n, lbls, _ := strings.Cut(series, "{")
		if n != name || !hasLabels(strings.TrimSuffix(lbls, "}"), labels) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		sum, found = sum+v, true
	}
	return sum, found
}

// hasLabels reports whether the label list `a="x",b="y"` holds each
// key=value of want.
func hasLabels(list string, want []string) bool {
	for _, kv := range want {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.Contains(","+list+",", ","+k+"="+strconv.Quote(v)+",") {
			return false
		}
	}
	return true
}
