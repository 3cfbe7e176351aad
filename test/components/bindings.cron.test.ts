import { describe, expect, it } from "vitest";
import type { InputBindingComponent, InputBindingEvent } from "../../src/blocks/bindings.ts";
import * as cron from "../../src/components/bindings/cron.ts";
import { createSchedule, scheduleProblem } from "../../src/components/bindings/cron.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError, InvalidRequestError } from "../../src/errors.ts";
import { waitFor } from "../support/wait.ts";

const binding = (schedule: string): InputBindingComponent =>
  cron.create({ name: "ticker", appId: "test-app", baseDir: process.cwd(), metadata: new ComponentMetadata({ schedule }, "ticker") });

describe("bindings.cron", () => {
  it.each(["*/1 * * * * *", "@every 1s"])("fires %s at least twice, with the tick's metadata", async (schedule) => {
    const events: InputBindingEvent[] = [];
    const running = await binding(schedule).start(async (event) => void events.push(event));
    try {
      await waitFor(() => events.length >= 2, { timeoutMs: 5_000, what: "two ticks" });
    } finally {
      await running.stop();
    }
    const [first] = events;
    expect(first!.data).toBeUndefined();
    expect(first!.metadata["timeZone"]).toBeTruthy();
    expect(new Date(first!.metadata["scheduledTime"]!).toISOString()).toBe(first!.metadata["scheduledTime"]);
    expect(first!.metadata["readTimeUTC"]).toBeTruthy();
  });

  it("stops firing after stop()", async () => {
    let ticks = 0;
    const running = await binding("*/1 * * * * *").start(async () => void ticks++);
    await waitFor(() => ticks >= 1, { timeoutMs: 5_000, what: "a tick" });
    await running.stop();
    const after = ticks;
    // Give a live schedule every chance to tick again: wait past the next due time.
    await expect(waitFor(() => ticks > after, { timeoutMs: 1_500 })).rejects.toThrow(/timed out/);
  });

  it("does not start a tick while the previous one is still running", async () => {
    let active = 0;
    let maxActive = 0;
    let ticks = 0;
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const running = await binding("*/1 * * * * *").start(async () => {
      ticks++;
      maxActive = Math.max(maxActive, ++active);
      await blocked;
      active--;
    });
    await waitFor(() => ticks >= 1, { timeoutMs: 5_000, what: "a tick" });
    // While the first run is held, later due times pass without starting a second one.
    await expect(waitFor(() => ticks > 1, { timeoutMs: 1_500 })).rejects.toThrow(/timed out/);
    release();
    await running.stop();
    expect(maxActive).toBe(1);
  });

  it("close() stops every started schedule", async () => {
    let ticks = 0;
    const b = binding("@every 1s");
    await b.start(async () => void ticks++);
    await waitFor(() => ticks >= 1, { timeoutMs: 5_000, what: "a tick" });
    await b.close();
    const after = ticks;
    await expect(waitFor(() => ticks > after, { timeoutMs: 1_500 })).rejects.toThrow(/timed out/);
  });

  it.each(["", "bad", "* * *", "61 * * * *", "* * * * * * *", "@sometimes", "@every soon", "@every 5", "CRON_TZ=Mars/Olympus * * * * *"])(
    "rejects the schedule %j when created, naming the schedule field",
    (schedule) => {
      const error = (() => {
        try {
          binding(schedule);
        } catch (e) {
          return e as ComponentConfigError;
        }
        throw new Error("expected a config error");
      })();
      expect(error).toBeInstanceOf(ComponentConfigError);
      expect(error.field).toBe("schedule");
      expect(error.component).toBe("ticker");
    },
  );

  it.each(["*/5 * * * *", "0 30 * * * *", "@daily", "@hourly", "@every 1h30m", "0 9 * * MON-FRI", "0 0 L * *", "CRON_TZ=Europe/Berlin 0 6 * * *"])(
    "accepts the schedule %j",
    (schedule) => {
      expect(scheduleProblem(schedule)).toBeUndefined();
      expect(() => binding(schedule)).not.toThrow();
    },
  );
});

describe("createSchedule", () => {
  it("reads a CRON_TZ prefix as the time zone", async () => {
    const schedule = await createSchedule("CRON_TZ=Asia/Tokyo 0 6 * * *", () => {});
    try {
      expect(schedule.timeZone).toBe("Asia/Tokyo");
      expect(schedule.nextRun()?.toISOString()).toMatch(/T21:00:00\.000Z$/); // 06:00 in Tokyo
    } finally {
      await schedule.stop();
    }
  });

  it("throws InvalidRequestError for a bad expression", async () => {
    await expect(createSchedule("not a schedule", () => {})).rejects.toThrow(InvalidRequestError);
  });

  it("keeps ticking when onTick throws, reporting to onError", async () => {
    const errors: unknown[] = [];
    let ticks = 0;
    const schedule = await createSchedule(
      "@every 1s",
      () => {
        ticks++;
        throw new Error("boom");
      },
      { onError: (error) => errors.push(error) },
    );
    try {
      await waitFor(() => ticks >= 2, { timeoutMs: 5_000, what: "two ticks" });
    } finally {
      await schedule.stop();
    }
    expect(errors.length).toBeGreaterThanOrEqual(1);
  });
});

describe("bindings.cron @every limits", () => {
  it("rejects an @every longer than timers can count, naming the schedule field", async () => {
    const { create } = await import("../../src/components/bindings/cron.ts");
    const { ComponentMetadata } = await import("../../src/config/metadata.ts");
    const { ComponentConfigError } = await import("../../src/errors.ts");
    const make = (schedule: string) => () =>
      create({ name: "tick", appId: "a", baseDir: ".", metadata: new ComponentMetadata({ schedule }, "tick") });
    expect(make("@every 720h")).toThrow(ComponentConfigError);
    expect(make("@every 720h")).toThrow(/schedule.*at most 24 days/);
    expect(make("@every 24h")).not.toThrow();
  });
});
