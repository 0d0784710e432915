import { afterAll } from "vitest";
import { removeTempDirs } from "./temp.js";

// A setup file: every test file removes what it made on disk, passed or failed.
afterAll(removeTempDirs);
