// The Python end-to-end scenario (clients/python/e2e.py) as a front end would write it with
// openapi-fetch over the types openapi-typescript generates from openapi.json. CI type-checks
// it (`tsc --noEmit`): a change to the document that breaks these calls fails the build.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/registry";

type Schemas = components["schemas"];
type RequestRead =
  | Schemas["RegistrationRequestRead"]
  | Schemas["TransferRequestRead"]
  | Schemas["DecommissionRequestRead"]
  | Schemas["OwnerChangeRequestRead"];

function as(token: string) {
  return createClient<paths>({
    baseUrl: "http://127.0.0.1:8000",
    headers: { Authorization: `Bearer ${token}` },
  });
}

function fail(what: string, problem: Schemas["Problem"] | undefined): never {
  throw new Error(`${what}: ${problem?.code ?? "?"} ${problem?.detail ?? ""}`);
}

export async function scenario(tokens: Record<"staff" | "lead" | "deputy" | "psd", string>) {
  const staff = as(tokens.staff);
  const lead = as(tokens.lead);
  const deputy = as(tokens.deputy);
  const psd = as(tokens.psd);

  // 1. A staff declaration and its registration request, approved (and so completed).
  const declared = await staff.POST("/api/v1/accounts", {
    body: { platform: "x", handle: "StaffsTsDecl", classification: "unofficial" },
  });
  if (!declared.data) fail("declare", declared.error);
  const status: Schemas["AccountStatus"] = declared.data.status;
  const page = await lead.GET("/api/v1/requests", {
    params: { query: { account_id: declared.data.id, kind: "registration" } },
  });
  const registration = page.data?.items[0];
  if (!registration || registration.kind !== "registration") throw new Error("no registration");
  const approved = await lead.POST("/api/v1/requests/{request_id}/approve", {
    params: { path: { request_id: registration.id } },
    body: { comment: "Welcome." },
  });
  if (approved.data?.status !== "completed") fail("approve", approved.error);

  // 2. A second account registered by a comms admin, by its link.
  const second = await lead.POST("/api/v1/accounts", {
    body: { url: "https://x.com/StaffsTs2nd", classification: "unofficial" },
  });
  if (!second.data) fail("register", second.error);

  // 3. Custodians before the transfer; the transfer approved by another comms admin, who
  // works its checklist and completes it.
  const custodians = await lead.GET("/api/v1/accounts/{account_id}/custodians", {
    params: { path: { account_id: declared.data.id } },
  });
  const owner = custodians.data?.owner?.id;
  const me = await staff.GET("/api/v1/me");
  const transfer = await lead.POST("/api/v1/requests", {
    body: {
      kind: "transfer",
      account_id: declared.data.id,
      reason: "Into official oversight.",
      details: { owner_id: me.data?.person?.id ?? owner ?? null },
    },
  });
  if (!transfer.data) fail("transfer", transfer.error);
  const current = await deputy.GET("/api/v1/requests/{request_id}", {
    params: { path: { request_id: transfer.data.id } },
  });
  const etag = current.response.headers.get("ETag") ?? "";
  const moved = await deputy.POST("/api/v1/requests/{request_id}/approve", {
    params: { path: { request_id: transfer.data.id }, header: { "If-Match": etag } },
    body: {},
  });
  const read: RequestRead | undefined = moved.data;
  if (read?.kind !== "transfer") fail("approve transfer", moved.error);
  for (const entry of read.checklist) {
    const item: Schemas["TransferChecklistItem"] = entry.item;
    if (entry.done) continue;
    await deputy.POST("/api/v1/requests/{request_id}/checklist/{item}", {
      params: { path: { request_id: read.id, item } },
      body: { done: true, note: "Done." },
    });
  }
  await deputy.POST("/api/v1/requests/{request_id}/complete", {
    params: { path: { request_id: read.id } },
  });

  // 4. A decommission blocked by a legal hold, completed once the hold is released.
  const closing = await lead.POST("/api/v1/requests", {
    body: {
      kind: "decommission",
      account_id: second.data.id,
      reason: "Duplicate of the corporate feed.",
      details: { reason_code: "duplicate" },
    },
  });
  if (closing.data?.kind !== "decommission") fail("decommission", closing.error);
  await deputy.POST("/api/v1/requests/{request_id}/approve", {
    params: { path: { request_id: closing.data.id } },
  });
  const item: Schemas["DecommissionChecklistItem"] = "final_post_published";
  await deputy.POST("/api/v1/requests/{request_id}/checklist/{item}", {
    params: { path: { request_id: closing.data.id, item } },
    body: { done: true },
  });
  const hold = await psd.POST("/api/v1/accounts/{account_id}/holds", {
    params: { path: { account_id: second.data.id } },
    body: { case_reference: "PSD/TS/1", reason: "Preserve the records." },
  });
  if (!hold.data) fail("hold", hold.error);
  const blocked = await deputy.POST("/api/v1/requests/{request_id}/complete", {
    params: { path: { request_id: closing.data.id } },
  });
  if (blocked.error?.status !== 409) throw new Error("the hold did not block completion");
  await psd.DELETE("/api/v1/accounts/{account_id}/holds/{hold_id}", {
    params: { path: { account_id: second.data.id, hold_id: hold.data.id } },
  });
  await deputy.POST("/api/v1/requests/{request_id}/complete", {
    params: { path: { request_id: closing.data.id } },
  });

  // 5. An account import from CSV (the body is the file's text, sent as text/csv).
  const imported = await lead.POST("/api/v1/imports/accounts", {
    params: { query: { dry_run: false } },
    body: "url,display_name,classification,status\nhttps://x.com/StaffsTsImp,Imp,official,active\n",
    bodySerializer: (csv: string) => csv,
    headers: { "Content-Type": "text/csv" },
  });
  const created: number | undefined = imported.data?.created;

  // 6. The summary report as JSON (typed counts) and as CSV.
  // (The route also streams CSV on `Accept: text/csv`, so its data may be text.)
  const summary = await lead.GET("/api/v1/reports/summary");
  const report = typeof summary.data === "object" ? summary.data : undefined;
  const staffs = report?.forces.find((f) => f.force === "staffs");
  const decommissioned: number | undefined = staffs?.by_status.decommissioned;
  const csv = await lead.GET("/api/v1/reports/summary.csv", { parseAs: "text" });
  const text: string | undefined = csv.data;
  return { status, created, decommissioned, text };
}
