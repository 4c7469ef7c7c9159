package wire

import (
	"strings"
	"testing"
)

func TestDecodeConfigCommand(t *testing.T) {
	good := `{"v":1,"cmd":"config","version":7,"readers":[{"name":"entree","port":"usb:0403:6001","profile":"rfid-em4100","service":"canteen","dir":"in","debounce":"2s"},{"name":"sortie","port":"/dev/ttyUSB1","profile":"rfid-em4100","service":"garderie"}]}`
	c, err := DecodeConfigCommand([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 7 || len(c.Readers) != 2 || c.Readers[0].Debounce != "2s" || c.Readers[1].Dir != "" {
		t.Fatalf("decoded %+v", c)
	}
	if CommandKind([]byte(good)) != CmdConfig || CommandKind([]byte(`{"v":1,"cmd":"resend"}`)) != CmdResend || CommandKind([]byte(`[`)) != "" {
		t.Fatal("CommandKind")
	}
	if _, err := DecodeConfigCommand([]byte(`{"v":1,"cmd":"config","version":3,"readers":[]}`)); err != nil {
		t.Fatalf("an empty reader list: %v", err)
	}
	for name, tc := range map[string]struct{ payload, want string }{
		"unknown field":    {strings.Replace(good, `"version":7`, `"version":7,"colour":"red"`, 1), "colour"},
		"no version":       {strings.Replace(good, `"version":7,`, ``, 1), "version"},
		"version 0":        {strings.Replace(good, `"version":7`, `"version":0`, 1), "version"},
		"no readers":       {`{"v":1,"cmd":"config","version":1}`, "readers"},
		"duplicate name":   {strings.Replace(good, `"name":"sortie"`, `"name":"entree"`, 1), "readers[1].name"},
		"bad name":         {strings.Replace(good, `"name":"sortie"`, `"name":"sor tie"`, 1), "readers[1].name"},
		"no port":          {strings.Replace(good, `"port":"/dev/ttyUSB1"`, `"port":""`, 1), "readers[1].port"},
		"bad service":      {strings.Replace(good, `"service":"garderie"`, `"service":"cantine"`, 1), "readers[1].service"},
		"bad dir":          {strings.Replace(good, `"dir":"in"`, `"dir":"up"`, 1), "readers[0].dir"},
		"debounce too big": {strings.Replace(good, `"debounce":"2s"`, `"debounce":"2h"`, 1), "readers[0].debounce"},
		"debounce garbage": {strings.Replace(good, `"debounce":"2s"`, `"debounce":"soon"`, 1), "readers[0].debounce"},
		"duplicate key":    {strings.Replace(good, `"version":7`, `"version":7,"version":8`, 1), "duplicate"},
	} {
		if _, err := DecodeConfigCommand([]byte(tc.payload)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", name, err, tc.want)
		}
	}
}

func TestValidateReadersProfilesAndLimit(t *testing.T) {
	rs := []ReaderConfig{{Name: "entree", Port: "COM3", Profile: "maison", Service: ServiceCanteen}}
	known := func(p string) bool { return p == "rfid-em4100" }
	if err := ValidateReaders(rs, known); err == nil || !strings.Contains(err.Error(), "readers[0].profile") {
		t.Fatalf("unknown profile: %v", err)
	}
	var many []ReaderConfig
	for i := range MaxReaders + 1 {
		many = append(many, ReaderConfig{Name: "r" + string(rune('a'+i)), Port: "COM3", Profile: "p", Service: ServiceStaff})
	}
	if err := ValidateReaders(many, nil); err == nil {
		t.Fatal("17 readers accepted")
	}
}
