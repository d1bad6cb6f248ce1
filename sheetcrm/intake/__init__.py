"""Reading lead exports (Facebook Lead Ads, Google Forms, CSV/.xlsx, a mapping file) into
canonical rows for `sheetcrm import`. I/O lives here; the planning is pure, in
`sheetcrm.sync.intake` (docs/intake.md)."""
