// Before every release, back up the application's VM and keep the last three backups; also keep one full
// backup of the VM, described by the release backup it follows.
//
// The SDK is generated into ./sdk and built (see the README's TypeScript section).
import * as pulumi from "@pulumi/pulumi";
import * as zstack from "@pulumi/zstack";

const config = new pulumi.Config();

const series = new zstack.VmBackupSeries("pre-release", {
    rootVolumeUuid: config.require("rootVolumeUuid"),
    backupStorageUuid: config.require("backupStorageUuid"),
    name: "pre-release",
    description: "Taken by the release pipeline before deploying a new version",
    keep: 3,
    triggers: [config.require("appVersion")],
    createTimeout: "90m",
});

const full = new zstack.VmBackup("full", {
    rootVolumeUuid: series.rootVolumeUuid,
    backupStorageUuid: series.backupStorageUuid,
    name: "full",
    description: pulumi.interpolate`Full backup after release backup ${series.latestGroupUuid}`,
    mode: "full",
    userTags: ["release-full"],
}, { dependsOn: [series] });

export const latestBackup = series.latestGroupUuid;
export const keptBackups = series.groupUuids;
export const fullBackup = full.id;
export const fullBackupBytes = full.totalSize;
