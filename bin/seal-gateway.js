#!/usr/bin/env node
// The package's bin: committed with its run bit, so `npx seal-gateway` works however dist/ was built.
import "../dist/src/main.js";
