package config

import (
	"fmt"
	"reflect"
	"testing"
)

func fmtV(v any) string     { return fmt.Sprintf("%v", v) }
func fmtPlusV(v any) string { return fmt.Sprintf("%+v", v) }

// walkZero appends the path of every zero-valued exported field of v
// (descending structs and map values) to zero.
func walkZero(t *testing.T, path string, v any, zero *[]string) {
	t.Helper()
	walkValue(path, reflect.ValueOf(v), zero)
}

func walkValue(path string, v reflect.Value, zero *[]string) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			walkValue(path+"."+f.Name, v.Field(i), zero)
		}
	case reflect.Map:
		if v.Len() == 0 {
			*zero = append(*zero, path)
			return
		}
		// A field counts as set if any entry sets it.
		merged := reflect.New(v.Type().Elem()).Elem()
		iter := v.MapRange()
		for iter.Next() {
			mergeNonZero(merged, iter.Value())
		}
		walkValue(path+"[*]", merged, zero)
	default:
		if v.IsZero() {
			*zero = append(*zero, path)
		}
	}
}

func mergeNonZero(dst, src reflect.Value) {
	if dst.Kind() == reflect.Struct {
		for i := range dst.NumField() {
			if dst.Type().Field(i).IsExported() {
				mergeNonZero(dst.Field(i), src.Field(i))
			}
		}
		return
	}
	if !src.IsZero() {
		dst.Set(src)
	}
}
