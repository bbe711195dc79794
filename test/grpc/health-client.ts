import { credentials, loadPackageDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath } from "grpc-health-check";

type Check = (req: { service: string }, cb: (err: Error | null, res: { status: string }) => void) => void;

/** A grpc.health.v1 client from the standard proto. */
export class HealthClient {
  private readonly client: { Check: Check; close(): void };
  constructor(port: number) {
    const pkg = loadPackageDefinition(loadSync(protoPath, { keepCase: true, enums: String })) as unknown as {
      grpc: { health: { v1: { Health: new (a: string, c: unknown) => { Check: Check; close(): void } } } };
    };
    this.client = new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, credentials.createInsecure());
  }
  check(service: string): Promise<string> {
    return new Promise((resolve, reject) =>
      this.client.Check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))),
    );
  }
  close() {
    this.client.close();
  }
}
