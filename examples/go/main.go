// Before every release, back up the application's VM and keep the last three backups; also keep one full
// backup of the VM, described by the release backup it follows.
//
// The SDK is generated into ./sdk (see the README's Go section); go.mod points at it with a replace.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/pulumi-zstack/pulumi-zstack/sdk/go/zstack"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		conf := config.New(ctx, "")

		series, err := zstack.NewVmBackupSeries(ctx, "pre-release", &zstack.VmBackupSeriesArgs{
			RootVolumeUuid:    pulumi.String(conf.Require("rootVolumeUuid")),
			BackupStorageUuid: pulumi.String(conf.Require("backupStorageUuid")),
			Name:              pulumi.String("pre-release"),
			Description:       pulumi.String("Taken by the release pipeline before deploying a new version"),
			Keep:              pulumi.Int(3),
			Triggers:          pulumi.Array{pulumi.String(conf.Require("appVersion"))},
			CreateTimeout:     pulumi.String("90m"),
		})
		if err != nil {
			return err
		}

		full, err := zstack.NewVmBackup(ctx, "full", &zstack.VmBackupArgs{
			RootVolumeUuid:    series.RootVolumeUuid,
			BackupStorageUuid: series.BackupStorageUuid,
			Name:              pulumi.String("full"),
			Description:       pulumi.Sprintf("Full backup after release backup %s", series.LatestGroupUuid),
			Mode:              pulumi.String("full"),
			UserTags:          pulumi.StringArray{pulumi.String("release-full")},
		}, pulumi.DependsOn([]pulumi.Resource{series}))
		if err != nil {
			return err
		}

		ctx.Export("latestBackup", series.LatestGroupUuid)
		ctx.Export("keptBackups", series.GroupUuids)
		ctx.Export("fullBackup", full.ID())
		ctx.Export("fullBackupBytes", full.TotalSize)
		return nil
	})
}
