package config

import "slices"

// Delivery is the part of Config that says where accepted messages go.
type Delivery struct {
	// Outputs lists them (key outputs): "eml" (the store's files),
	// "pickup" (an IIS/Exchange pickup folder), "maildir".
	Outputs []string
	// PickupPath is the pickup folder (key pickup_path).
	PickupPath string
	// MaildirPath is the Maildir, or the root of one per recipient (key
	// maildir_path).
	MaildirPath string
	// MaildirPerRecipient delivers into <maildir_path>/<domain>/<local>
	// per recipient (key maildir_per_recipient).
	MaildirPerRecipient bool
}

// Has reports whether output o is configured.
func (o Delivery) Has(out string) bool { return slices.Contains(o.Outputs, out) }

var outputKeys = []keyDef{
	{Key{Name: "outputs", Kind: KindList, Help: `where accepted mail goes: "eml" (store files), "pickup", "maildir"`},
		func(c *Config) any { return &c.Outputs }},
	{Key{Name: "pickup_path", Kind: KindPath, Help: "IIS/Exchange-style pickup folder for the pickup output"},
		func(c *Config) any { return &c.PickupPath }},
	{Key{Name: "maildir_path", Kind: KindPath, Help: "Maildir (or root of one per recipient) for the maildir output"},
		func(c *Config) any { return &c.MaildirPath }},
	{Key{Name: "maildir_per_recipient", Kind: KindBool, Help: "one Maildir per recipient, <maildir_path>/<domain>/<local>"},
		func(c *Config) any { return &c.MaildirPerRecipient }},
}

// validateOutputs adds the problems of the output keys.
func (c *Config) validateOutputs(bad func(key string, value any, format string, args ...any)) {
	if len(c.Outputs) == 0 {
		bad("outputs", c.Outputs, `want at least one of "eml", "pickup", "maildir"`)
	}
	for _, o := range c.Outputs {
		switch o {
		case "eml", "pickup", "maildir":
		default:
			bad("outputs", c.Outputs, `%q is no output (want "eml", "pickup" or "maildir")`, o)
		}
	}
	if c.Has("pickup") && c.PickupPath == "" {
		bad("pickup_path", c.PickupPath, "empty while outputs has pickup")
	}
	if c.Has("maildir") && c.MaildirPath == "" {
		bad("maildir_path", c.MaildirPath, "empty while outputs has maildir")
	}
	if (c.Has("pickup") || c.Has("maildir")) && !c.StoreData {
		bad("outputs", c.Outputs, "pickup and maildir need store_data on")
	}
}
