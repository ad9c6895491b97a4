import { create, createFileRegistry, fromBinary, toBinary, type DescFile, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../../contracts/gen/grpc/reflection/v1/reflection_pb";
import * as v1alpha from "../../contracts/gen/grpc/reflection/v1alpha/reflection_pb";

/**
 * gRPC server reflection (v1 and v1alpha) over the descriptors compiled into the generated code, so
 * grpcurl and `buf curl` work with no proto files at hand.
 */
export function reflectionRoutes(files: DescFile[], serviceNames: () => string[]) {
  const all = withDependencies([
    ...files,
    v1.file_grpc_reflection_v1_reflection,
    v1alpha.file_grpc_reflection_v1alpha_reflection,
  ]);
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: all.map((f) => f.proto) }));
  const answer = (req: v1.ServerReflectionRequest) => answerRequest(registry, serviceNames(), req);
  return (router: ConnectRouter) => {
    router.service(v1.ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) yield answer(req);
      },
    });
    // v1alpha has the same wire shape; translate through the binary form.
    router.service(v1alpha.ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) {
          const res = answer(
            fromBinary(v1.ServerReflectionRequestSchema, toBinary(v1alpha.ServerReflectionRequestSchema, req)),
          );
          yield fromBinary(v1alpha.ServerReflectionResponseSchema, toBinary(v1.ServerReflectionResponseSchema, res));
        }
      },
    });
  };
}

function answerRequest(registry: FileRegistry, services: string[], req: v1.ServerReflectionRequest) {
  const base = { validHost: req.host, originalRequest: req };
  const files = (found: DescFile | undefined, what: string) =>
    found
      ? create(v1.ServerReflectionResponseSchema, {
          ...base,
          messageResponse: {
            case: "fileDescriptorResponse",
            value: {
              fileDescriptorProto: withDependencies([found]).map((f) => toBinary(FileDescriptorProtoSchema, f.proto)),
            },
          },
        })
      : notFound(what);
  const notFound = (what: string) =>
    create(v1.ServerReflectionResponseSchema, {
      ...base,
      messageResponse: { case: "errorResponse", value: { errorCode: 5, errorMessage: `${what} not found` } },
    });

  const r = req.messageRequest;
  switch (r.case) {
    case "listServices":
      return create(v1.ServerReflectionResponseSchema, {
        ...base,
        messageResponse: { case: "listServicesResponse", value: { service: services.map((name) => ({ name })) } },
      });
    case "fileByFilename":
      return files(registry.getFile(r.value), `file ${r.value}`);
    case "fileContainingSymbol":
      return files(fileOfSymbol(registry, r.value), `symbol ${r.value}`);
    case "fileContainingExtension": {
      const type = registry.getMessage(r.value.containingType);
      const ext = type && registry.getExtensionFor(type, r.value.extensionNumber);
      return files(ext?.file, `extension ${r.value.extensionNumber} of ${r.value.containingType}`);
    }
    case "allExtensionNumbersOfType": {
      const type = registry.getMessage(r.value);
      if (!type) return notFound(`type ${r.value}`);
      const numbers: number[] = [];
      for (const d of registry) if (d.kind === "extension" && d.extendee.typeName === r.value) numbers.push(d.number);
      return create(v1.ServerReflectionResponseSchema, {
        ...base,
        messageResponse: {
          case: "allExtensionNumbersResponse",
          value: { baseTypeName: r.value, extensionNumber: numbers },
        },
      });
    }
    default:
      return create(v1.ServerReflectionResponseSchema, {
        ...base,
        messageResponse: {
          case: "errorResponse",
          value: { errorCode: 12, errorMessage: "request kind not implemented" },
        },
      });
  }
}

/** A symbol is a type, a service, or a method ("pkg.Service.Method"). */
function fileOfSymbol(registry: FileRegistry, symbol: string): DescFile | undefined {
  const direct = registry.get(symbol);
  if (direct) return direct.file;
  const parent = registry.getService(symbol.slice(0, symbol.lastIndexOf(".")));
  return parent?.methods.some((m) => m.name === symbol.slice(symbol.lastIndexOf(".") + 1)) ? parent.file : undefined;
}

/** The files and everything they import, dependencies first. */
function withDependencies(files: DescFile[]): DescFile[] {
  const seen = new Set<string>();
  const out: DescFile[] = [];
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    f.dependencies.forEach(visit);
    out.push(f);
  };
  files.forEach(visit);
  return out;
}
