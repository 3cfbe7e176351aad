/**
 * Importing this module hands the CEL engine (@marcbachmann/cel-js) to the core (see cel.ts). It is
 * a module of its own because importing it is what puts the engine in a bundle: the config loader
 * imports it (Node and builds only), and a build's entry imports it only when the app has CEL
 * routing rules or circuit breakers.
 */
import { provideCelEngine } from "./cel.ts";

provideCelEngine(() => import("@marcbachmann/cel-js"));
