package baton

import (
	"reflect"

	"github.com/baton-go/baton/internal/vrule"
)

// The v rules of typed handlers' requests are checked by internal/vrule,
// compiled with the binding at registration.

// compileRules compiles the v rules of request type t; the check is nil
// for a type without any.
func compileRules(t reflect.Type) (func(reflect.Value) []FieldError, error) {
	rules, err := vrule.Compile(t)
	if err != nil {
		return nil, err
	}
	if len(rules.Fields()) == 0 {
		return nil, nil
	}
	return func(v reflect.Value) []FieldError {
		vs := rules.Check(v)
		if len(vs) == 0 {
			return nil
		}
		out := make([]FieldError, len(vs))
		for i, x := range vs {
			out[i] = FieldError{Field: x.Field, Rule: x.Rule, Message: x.Message}
		}
		return out
	}, nil
}
