package vrule

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Rule is one parsed rule of a v tag, for example length:6,16.
type Rule struct {
	// Name is the rule's name, as in the tag: "length", "in", "regex".
	Name string
	// Args are the rule's arguments, split on commas, except for regex,
	// whose single argument is the whole pattern.
	Args []string
	// Message is the custom message given after '#', or "" for the default.
	Message string

	nums []float64       // numeric arguments: length, min, max, between
	set  map[string]bool // in, not-in
	re   *regexp.Regexp  // regex
}

// Min returns the rule's lower bound and true, for length, min-length, min
// and between.
func (r Rule) Min() (float64, bool) {
	switch r.Name {
	case "length", "min-length", "min", "between":
		return r.nums[0], true
	}
	return 0, false
}

// Max returns the rule's upper bound and true, for length, max-length, max
// and between.
func (r Rule) Max() (float64, bool) {
	switch r.Name {
	case "length", "between":
		return r.nums[1], true
	case "max-length", "max":
		return r.nums[0], true
	}
	return 0, false
}

// IsLength reports whether the rule bounds a length (length, min-length,
// max-length) rather than a value.
func (r Rule) IsLength() bool {
	return r.Name == "length" || r.Name == "min-length" || r.Name == "max-length"
}

// arity is the number of arguments of each known rule: 0 none, -1 one or
// more, -2 exactly one pattern.
var arity = map[string]int{
	"required": 0, "email": 0, "url": 0, "date": 0, "integer": 0, "float": 0, "boolean": 0,
	"length": 2, "between": 2,
	"min-length": 1, "max-length": 1, "min": 1, "max": 1,
	"in": -1, "not-in": -1,
	"regex": -2,
}

// Parse parses a v tag into its rules. It reports an unknown rule, wrong
// arguments, a bad regular expression, or more messages than rules.
func Parse(tag string) ([]Rule, error) {
	tag = strings.TrimSpace(tag)
	if tag == "" {
		return nil, nil
	}
	ruleText, msgText, hasMsg := strings.Cut(tag, "#")
	var items []string
	for _, item := range strings.Split(ruleText, "|") {
		name, _, _ := strings.Cut(item, ":")
		name = strings.TrimSpace(name)
		if _, known := arity[name]; !known && len(items) > 0 &&
			strings.HasPrefix(strings.TrimSpace(items[len(items)-1]), "regex:") {
			// A '|' inside a regular expression: the pattern goes on.
			items[len(items)-1] += "|" + item
			continue
		}
		items = append(items, item)
	}
	rules := make([]Rule, 0, len(items))
	for _, item := range items {
		r, err := parseRule(item)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	if hasMsg {
		msgs := strings.Split(msgText, "|")
		if len(msgs) > len(rules) {
			return nil, fmt.Errorf("%d messages for %d rules", len(msgs), len(rules))
		}
		for i, m := range msgs {
			rules[i].Message = strings.TrimSpace(m)
		}
	}
	return rules, nil
}

func parseRule(item string) (Rule, error) {
	item = strings.TrimSpace(item)
	name, arg, hasArg := strings.Cut(item, ":")
	name = strings.TrimSpace(name)
	r := Rule{Name: name}
	n, known := arity[name]
	if !known {
		if name == "" {
			return r, errors.New("empty rule")
		}
		return r, fmt.Errorf("rule %q: unknown rule", item)
	}
	fail := func(format string, a ...any) (Rule, error) {
		return r, fmt.Errorf("rule %q: "+format, append([]any{item}, a...)...)
	}
	if n == 0 {
		if hasArg {
			return fail("takes no argument")
		}
		return r, nil
	}
	if !hasArg || strings.TrimSpace(arg) == "" {
		return fail("needs an argument")
	}
	if n == -2 {
		re, err := regexp.Compile(arg)
		if err != nil {
			return fail("%w", err)
		}
		r.Args, r.re = []string{arg}, re
		return r, nil
	}
	for _, a := range strings.Split(arg, ",") {
		r.Args = append(r.Args, strings.TrimSpace(a))
	}
	if n == -1 {
		r.set = make(map[string]bool, len(r.Args))
		for _, a := range r.Args {
			r.set[a] = true
		}
		return r, nil
	}
	if len(r.Args) != n {
		return fail("wants %d arguments, has %d", n, len(r.Args))
	}
	for _, a := range r.Args {
		f, err := strconv.ParseFloat(a, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fail("argument %q is not a number", a)
		}
		if r.IsLength() && (f < 0 || f != math.Trunc(f)) {
			return fail("argument %q is not a length", a)
		}
		r.nums = append(r.nums, f)
	}
	if n == 2 && r.nums[0] > r.nums[1] {
		return fail("minimum above maximum")
	}
	return r, nil
}
