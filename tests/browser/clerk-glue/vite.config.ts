// The example's Vite settings (aliases to the package sources, proxy to the stack), rooted here.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { mergeConfig } from "vite";
import example from "../../../examples/react-vite/vite.config.ts";

export default mergeConfig(example, { root: path.dirname(fileURLToPath(import.meta.url)) });
